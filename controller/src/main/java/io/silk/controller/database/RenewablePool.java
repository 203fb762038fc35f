package io.silk.controller.database;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.slf4j.LoggerFactory;

/**
 * The controller's connection pool (HikariCP), which a replica can replace with a fresh one when
 * the database comes back after an outage. Hikari retries a lost database with a backoff that
 * grows to 5 s, so after a long outage writes came back up to 5 s after the database did; the
 * dedicated connections (change feeds, signals) retry within half a second, and the first of them
 * to get through after a failure asks for a fresh pool ({@link #renewIfStarved}), which connects
 * at once. Connections borrowed from the old pool go back to it; it is closed in the background.
 */
public final class RenewablePool implements DataSource, AutoCloseable {

    private static final org.slf4j.Logger log = LoggerFactory.getLogger(RenewablePool.class);

    private final HikariConfig config;
    private final AtomicInteger generation = new AtomicInteger();
    private volatile HikariDataSource current;

    public RenewablePool(HikariConfig config) {
        this.config = config;
        this.current = create();
    }

    private HikariDataSource create() {
        HikariConfig copy = new HikariConfig();
        config.copyStateTo(copy);
        int g = generation.getAndIncrement();
        if (g > 0) {
            copy.setPoolName(config.getPoolName() + "-" + g);
        }
        return new HikariDataSource(copy);
    }

    /** The pool's settings, as configured (for the dedicated connections that reach the same database). */
    public HikariConfig config() {
        return config;
    }

    /** The pool in use now (metrics, tests). */
    public HikariDataSource current() {
        return current;
    }

    /**
     * Replaces the pool with a fresh one when it holds no connection at all (it lost them all to an
     * outage and is backing off); otherwise does nothing.
     */
    public synchronized void renewIfStarved() {
        HikariDataSource old = current;
        var mx = old.getHikariPoolMXBean();
        if (mx == null || mx.getTotalConnections() > 0) {
            return;
        }
        current = create();
        log.atInfo().setMessage("database answers again; connection pool renewed").addKeyValue("pool", current.getPoolName()).log();
        Thread.ofVirtual().name("close-" + old.getPoolName()).start(old::close);
    }

    @Override
    public Connection getConnection() throws SQLException {
        return current.getConnection();
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return current.getConnection(username, password);
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return current.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        current.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        current.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return current.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return current.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        return current.unwrap(iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        return iface.isInstance(this) || current.isWrapperFor(iface);
    }

    @Override
    public void close() {
        current.close();
    }
}
