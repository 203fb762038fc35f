package io.silk.controller.database;

/**
 * The database's identity row ({@code database_identity}, one row): a uuid cells carry in their
 * renews and watches, and where the row was made (cluster and database oid).
 */
public final class DatabaseIdentity {

    /**
     * SQL, true when the identity row names another database than the one it is in: a dump restored
     * (or recovered to a point in time) under running replicas that have not set it up yet. The
     * uuid alone cannot tell: a copy carries its original's.
     */
    public static final String COPIED = "(database_oid IS NOT NULL AND database_oid <> (SELECT oid FROM pg_database WHERE datname = current_database()))";

    private DatabaseIdentity() {}
}
