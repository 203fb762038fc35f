package io.silk.controller.database;

import io.silk.db.Connector;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

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
        var config = pool.config();
        Properties props = new Properties();
        if (config.getUsername() != null) {
            props.setProperty("user", config.getUsername());
        }
        if (config.getPassword() != null) {
            props.setProperty("password", config.getPassword());
        }
        // Fail fast while the database is down: the callers retry within half a second.
        props.setProperty("connectTimeout", "2");
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("ApplicationName", config.getPoolName() + "-dedicated");
        Connection db;
        try {
            db = DriverManager.getConnection(config.getJdbcUrl(), props);
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
