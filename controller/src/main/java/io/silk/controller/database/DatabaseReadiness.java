package io.silk.controller.database;

import io.silk.controller.feed.NotReady;
import java.util.List;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Brings the database up to date (Flyway migrations, then every {@link DatabaseSetup}) before the
 * replica serves, without requiring the database to answer at start-up: a replica started while
 * its database is down starts, reports not ready (this health indicator, in the readiness group),
 * answers UNAVAILABLE, and keeps trying in the background until the database answers.
 */
@Component("database")
public class DatabaseReadiness implements SmartLifecycle, HealthIndicator {

    private static final Logger log = LoggerFactory.getLogger(DatabaseReadiness.class);
    private static final long RETRY_MIN_MS = 50;
    private static final long RETRY_MAX_MS = 500;

    private final DataSource dataSource;
    private final List<DatabaseSetup> setups;
    private volatile boolean ready;
    private volatile String lastError = "not tried yet";
    private volatile boolean running;
    private Thread retrying;

    public DatabaseReadiness(DataSource dataSource, List<DatabaseSetup> setups) {
        this.dataSource = dataSource;
        this.setups = setups;
    }

    public boolean ready() {
        return ready;
    }

    /** Throws {@link NotReady} until the database has been set up once. */
    public void require(String action) {
        if (!ready) {
            throw new NotReady(action + ": the controller has not reached its database since it started; retry shortly");
        }
    }

    /**
     * Sets up a database that replaced the one this replica started on (found by a change feed):
     * migrations and setups again, at once, on the caller's thread. Failures are left to the
     * caller's retry (the feed reconnects and finds the database still unset). {@code replacement}:
     * the replica was using another database before (not merely a first database found empty).
     */
    public synchronized void setUpAgain(boolean replacement) {
        if (!attempt(replacement)) {
            throw new IllegalStateException("set up the replacement database: " + lastError);
        }
        log.atInfo().setMessage("replacement database set up").log();
    }

    @Override
    public Health health() {
        return ready ? Health.up().build() : Health.outOfService().withDetail("error", lastError).build();
    }

    private synchronized boolean attempt(boolean replacement) {
        try {
            Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
            for (DatabaseSetup setup : setups) {
                setup.run(replacement);
            }
            ready = true;
            return true;
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            lastError = String.valueOf(root.getMessage());
            return false;
        }
    }

    /** Tries once in the foreground, so a replica whose database answers starts ready; else keeps trying. */
    @Override
    public void start() {
        running = true;
        if (attempt(false)) {
            return;
        }
        log.atWarn().setMessage("database not reachable at start-up; serving UNAVAILABLE until it is")
                .addKeyValue("error", lastError).log();
        retrying = Thread.ofPlatform().daemon().name("database-readiness").start(() -> {
            long waitMs = RETRY_MIN_MS;
            while (running && !attempt(false)) {
                try {
                    Thread.sleep(waitMs);
                } catch (InterruptedException e) {
                    return;
                }
                waitMs = Math.min(waitMs * 2, RETRY_MAX_MS);
            }
            if (ready) {
                log.atInfo().setMessage("database reached; serving").log();
            }
        });
    }

    @Override
    public void stop() {
        running = false;
        if (retrying != null) {
            retrying.interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Before the change feeds (which read the migrated tables) and the gRPC server. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 500;
    }
}
