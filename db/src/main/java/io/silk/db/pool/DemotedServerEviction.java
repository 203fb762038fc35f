package io.silk.db.pool;

import com.zaxxer.hikari.SQLExceptionOverride;
import java.sql.SQLException;

/**
 * Drops a pooled connection whose server has become a read-only replica (a planned switchover
 * that kept connections open, an operator's demotion): Hikari would keep it, and every call that
 * borrowed it would fail until it aged out. A fresh connection finds the new primary through the
 * multi-host URL's {@code targetServerType=primary}.
 */
public final class DemotedServerEviction implements SQLExceptionOverride {

    static final String READ_ONLY_SQL_TRANSACTION = "25006";

    @java.lang.Override
    public Override adjudicate(SQLException e) {
        return READ_ONLY_SQL_TRANSACTION.equals(e.getSQLState()) ? Override.MUST_EVICT : Override.CONTINUE_EVICT;
    }
}
