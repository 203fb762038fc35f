package io.silk.db.pool;

import io.silk.db.Connector;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Opens the connections that the change feeds (LISTEN) and change signals (NOTIFY) hold for good,
 * outside the pool, to the pool's database. The first connection that gets through after one
 * failed to connect tells the pool the database answers again ({@link RenewablePool#renewIfOlderThan}).
 */
public final class DedicatedConnector implements Connector {

    private final RenewablePool pool;
    /** When connecting first failed since the last success ({@link System#nanoTime}); 0: it has not. */
    private volatile long failingSince;

    public DedicatedConnector(RenewablePool pool) {
        this.pool = pool;
    }

    @Override
    public Connection connect() throws SQLException {
        Connection db;
        try {
            db = pool.connectOutside("dedicated");
        } catch (SQLException e) {
            if (failingSince == 0) {
                failingSince = System.nanoTime();
            }
            throw e;
        }
        long since = failingSince;
        if (since != 0) {
            failingSince = 0;
            pool.renewIfOlderThan(since);
        }
        return db;
    }
}
