package io.silk.db;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes the change feeds of every controller after writes to one event log commit: one NOTIFY, on
 * a connection of its own, for all the writes signalled since the last one. A NOTIFY inside each
 * write transaction would hold PostgreSQL's notify lock through that transaction's commit flush
 * and so commit every write one at a time. A NOTIFY lost to a crash only delays the feeds until
 * their next periodic read (once a second).
 */
public final class ChangeSignal implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChangeSignal.class);

    private final String channel;
    private final Connector connector;
    private final Object lock = new Object();
    private boolean pending; // guarded by lock
    private volatile boolean running;
    private Thread thread;

    /** @param channel the log's NOTIFY channel, e.g. {@code silk_lease_events} */
    public ChangeSignal(String channel, Connector connector) {
        if (!channel.matches("[a-z_]+")) {
            throw new IllegalArgumentException("channel must be a plain identifier: " + channel);
        }
        this.channel = channel;
        this.connector = connector;
    }

    public String channel() {
        return channel;
    }

    /** Call after a write to the log committed. Never blocks. */
    public void changed() {
        synchronized (lock) {
            pending = true;
            lock.notifyAll();
        }
    }

    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        thread = Thread.ofPlatform().daemon().name("change-signal-" + channel).start(this::run);
    }

    public boolean isRunning() {
        return running;
    }

    @Override
    public void close() {
        running = false;
        synchronized (lock) {
            lock.notifyAll();
        }
        if (thread != null) {
            thread.interrupt();
        }
    }

    private void run() {
        long backoffMs = 50;
        boolean lost = false;
        while (running) {
            try (Connection db = connector.connect(); Statement notify = db.createStatement()) {
                db.setAutoCommit(true);
                if (lost) {
                    log.atInfo().setMessage("change signal reconnected").addKeyValue("channel", channel).log();
                    lost = false;
                }
                backoffMs = 50;
                while (running) {
                    synchronized (lock) {
                        while (!pending && running) {
                            lock.wait();
                        }
                        pending = false;
                    }
                    if (running) {
                        try {
                            notify.execute("NOTIFY " + channel);
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
                if (!lost) {
                    log.atWarn().setMessage("change signal lost the database, reconnecting").addKeyValue("channel", channel)
                            .addKeyValue("error", e.getMessage()).log();
                    lost = true;
                }
                try {
                    Thread.sleep(backoffMs);
                } catch (InterruptedException ie) {
                    return;
                }
                // Short cap: writes resume as soon as the database answers, and so should the wake-ups.
                backoffMs = Math.min(backoffMs * 2, 500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
