package io.silk.controller.lease;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Wakes the lease change feeds of every replica after lease writes commit: one NOTIFY, on a
 * connection of its own, for all the writes signalled since the last one. A NOTIFY inside each
 * write transaction would hold PostgreSQL's notify lock through that transaction's commit flush
 * and so commit every lease write one at a time. A NOTIFY lost to a crash only delays the other
 * replicas until their feeds' next periodic read.
 */
@Component
public class LeaseChangeSignal implements SmartLifecycle {

    static final String CHANNEL = "silk_lease_events";
    private static final Logger log = LoggerFactory.getLogger(LeaseChangeSignal.class);

    private final HikariDataSource dataSource;
    private final Object lock = new Object();
    private boolean pending; // guarded by lock
    private volatile boolean running;
    private Thread thread;

    public LeaseChangeSignal(DataSource dataSource) {
        if (!(dataSource instanceof HikariDataSource hikari)) {
            throw new IllegalStateException("lease change signal needs a HikariDataSource, got " + dataSource.getClass());
        }
        this.dataSource = hikari;
    }

    /** Call after a lease write committed. Never blocks. */
    public void changed() {
        synchronized (lock) {
            pending = true;
            lock.notifyAll();
        }
    }

    private void run() {
        long backoffMs = 100;
        while (running) {
            try (Connection db = DriverManager.getConnection(dataSource.getJdbcUrl(), dataSource.getUsername(),
                    dataSource.getPassword()); Statement notify = db.createStatement()) {
                db.setAutoCommit(true);
                backoffMs = 100;
                while (running) {
                    synchronized (lock) {
                        while (!pending && running) {
                            lock.wait();
                        }
                        pending = false;
                    }
                    if (running) {
                        try {
                            notify.execute("NOTIFY " + CHANNEL);
                        } catch (SQLException e) {
                            changed(); // not sent: send it once reconnected
                            throw e;
                        }
                    }
                }
            } catch (SQLException e) {
                if (!running) {
                    return;
                }
                log.warn("lease change signal lost the database, reconnecting: {}", e.getMessage());
                try {
                    Thread.sleep(backoffMs);
                } catch (InterruptedException ie) {
                    return;
                }
                backoffMs = Math.min(backoffMs * 2, 5_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void start() {
        running = true;
        thread = Thread.ofPlatform().daemon().name("lease-change-signal").start(this::run);
    }

    @Override
    public void stop() {
        running = false;
        synchronized (lock) {
            lock.notifyAll();
        }
        if (thread != null) {
            thread.interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
