package io.silk.db.pool;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLTransientConnectionException;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.slf4j.LoggerFactory;

/**
 * A service's connection pool (HikariCP; the controller's and the policy server's), which a replica replaces with a fresh one when the
 * database answers again after an outage or a failover. Hikari retries a lost database with a
 * backoff that grows to 5 s, so writes came back up to 5 s after the database did; the dedicated
 * connections (change feeds, signals) retry within half a second, and the first of them to get
 * through after failing to connect asks for a fresh pool ({@link #renewIfOlderThan}), which
 * connects at once; a pool left with no connection also probes for itself. Connections borrowed from the old pool go back to it; it is closed in the
 * background.
 *
 * <p>A caller waits for a connection up to the configured {@code connection-timeout}, but in slices
 * of at most 250 ms, each on the pool current at that moment: a call that started waiting
 * on the old pool during a failover moves to the fresh one within a slice instead of sitting out
 * the whole timeout on a pool that will never connect again (a planned switchover took 2.2 s of
 * refused writes that way, for 1.4 s of database downtime). Hikari's timeout metric therefore counts
 * slices, not callers.
 */
public final class RenewablePool implements DataSource, AutoCloseable {

    private static final org.slf4j.Logger log = LoggerFactory.getLogger(RenewablePool.class);

    private final HikariConfig config;
    private final AtomicInteger generation = new AtomicInteger();
    private volatile HikariDataSource current;
    private volatile long createdAt;
    private final AtomicBoolean probing = new AtomicBoolean();

    public RenewablePool(HikariConfig config) {
        this.config = config;
        this.current = create();
    }

    /**
     * A service's pool settings before its own ({@code spring.datasource.hikari.*}) are bound over
     * them: where the database is, and read-only connections dropped ({@link DemotedServerEviction}).
     */
    public static HikariConfig settings(String poolName, String jdbcUrl, String username, String password) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(jdbcUrl);
        c.setUsername(username);
        c.setPassword(password);
        c.setPoolName(poolName);
        c.setExceptionOverrideClassName(DemotedServerEviction.class.getName());
        return c;
    }

    /** The longest a caller waits on one pool before looking again for the current one. */
    static final long SLICE_MILLIS = 250;

    private HikariDataSource create() {
        HikariConfig copy = new HikariConfig();
        config.copyStateTo(copy);
        int g = generation.getAndIncrement();
        if (g > 0) {
            copy.setPoolName(config.getPoolName() + "-" + g);
        }
        // Hikari's own minimum is 250 ms; the caller's whole wait is config's, see getConnection.
        copy.setConnectionTimeout(Math.min(config.getConnectionTimeout(), SLICE_MILLIS));
        HikariDataSource pool = new HikariDataSource(copy);
        createdAt = System.nanoTime();
        return pool;
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
     * Replaces the pool with a fresh one if it was created before {@code outageStartNanos} (a
     * {@link System#nanoTime} at which connecting failed): its connections are likely dead and its
     * creator backing off. A pool created since is left alone, so the several dedicated connections
     * that reconnect after one outage renew it once.
     */
    public synchronized void renewIfOlderThan(long outageStartNanos) {
        if (createdAt - outageStartNanos > 0) {
            return;
        }
        HikariDataSource old = current;
        current = create();
        log.atInfo().setMessage("database answers again; connection pool renewed").addKeyValue("pool", current.getPoolName()).log();
        Thread.ofVirtual().name("close-" + old.getPoolName()).start(old::close);
    }

    /**
     * A connection outside the pool to the pool's database (the dedicated connections', and the
     * probe's): fails fast while the database is down, for callers that retry.
     */
    public Connection connectOutside(String purpose) throws SQLException {
        Properties props = new Properties();
        if (config.getUsername() != null) {
            props.setProperty("user", config.getUsername());
        }
        if (config.getPassword() != null) {
            props.setProperty("password", config.getPassword());
        }
        props.setProperty("connectTimeout", "2");
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("ApplicationName", config.getPoolName() + "-" + purpose);
        return DriverManager.getConnection(config.getJdbcUrl(), props);
    }

    /**
     * A pool left without a single connection is connecting, with Hikari's growing backoff. A
     * service whose dedicated connections are idle (the policy server's change signal connects only
     * to signal a write, and no write gets through) would wait that backoff out: so the pool probes
     * for itself, every 250 ms, and renews itself once the database answers.
     */
    private void probeIfDisconnected(HikariDataSource pool) {
        var mx = pool.getHikariPoolMXBean();
        if (mx == null || mx.getTotalConnections() > 0 || !probing.compareAndSet(false, true)) {
            return;
        }
        long since = System.nanoTime();
        Thread.ofVirtual().name("probe-" + pool.getPoolName()).start(() -> {
            try {
                while (current == pool && !pool.isClosed() && mx.getTotalConnections() == 0) {
                    try (Connection c = connectOutside("probe")) {
                        renewIfOlderThan(since);
                        return;
                    } catch (SQLException e) {
                        Thread.sleep(SLICE_MILLIS);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                probing.set(false);
            }
        });
    }

    @Override
    public Connection getConnection() throws SQLException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.getConnectionTimeout());
        while (true) {
            HikariDataSource pool = current;
            try {
                return pool.getConnection();
            } catch (SQLException e) {
                // Looked again: Hikari's slice ran out (SQLTransientConnectionException), or the
                // pool was renewed (and closed) under the caller. Anything else is the caller's.
                boolean again = e instanceof SQLTransientConnectionException || pool != current;
                if (e instanceof SQLTransientConnectionException) {
                    probeIfDisconnected(pool);
                }
                if (!again || System.nanoTime() - deadline >= 0) {
                    throw e;
                }
            }
        }
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
