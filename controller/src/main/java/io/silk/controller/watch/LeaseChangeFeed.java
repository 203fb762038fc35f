package io.silk.controller.watch;

import com.zaxxer.hikari.HikariDataSource;
import io.silk.controller.lease.LeaseEventRecord;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * This replica's view of every lease, kept by reading {@code lease_event} in revision order. One
 * reader per replica, however many watch streams: each write's NOTIFY wakes it (push), it reads
 * what is new, and fans it out to subscribers in memory.
 *
 * <p>Revisions come from a sequence, so a transaction can commit revision 8 while 7 is still in
 * flight. The feed never passes a missing revision until it is sure no transaction can still
 * commit it: it notes the snapshot's xmax when it meets the gap, and skips the gap only once every
 * transaction older than that has ended (writers take their xid before their revision).
 */
@Component
public class LeaseChangeFeed implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(LeaseChangeFeed.class);
    private static final String CHANNEL = "silk_lease_events";
    private static final int BATCH = 5000;
    private static final int IDLE_WAIT_MS = 30_000;
    private static final int GAP_WAIT_MS = 2;

    private final HikariDataSource dataSource;
    private final int replayCapacity;

    // Guarded by this.
    private final Map<String, LeaseEventRecord> latest = new HashMap<>();
    private final ArrayDeque<LeaseEventRecord> replay = new ArrayDeque<>();
    private final Set<LeaseFeedSubscriber> subscribers = new LinkedHashSet<>();
    private long revision;
    /** Watches resuming from below this revision cannot be replayed and get a snapshot. */
    private long replayFrom;

    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile boolean running;
    private volatile boolean connected;
    private Thread reader;
    private volatile Connection listening;

    /** A gap met at {@code below}: skippable once the snapshot xmin passes {@code xmax}. */
    private record Gap(long below, long xmax) {}

    private Gap pendingGap;

    public LeaseChangeFeed(DataSource dataSource,
            @Value("${silk.controller.watch.replay-buffer:100000}") int replayCapacity) {
        if (!(dataSource instanceof HikariDataSource hikari)) {
            throw new IllegalStateException("lease change feed needs a HikariDataSource, got " + dataSource.getClass());
        }
        this.dataSource = hikari;
        this.replayCapacity = replayCapacity;
    }

    // ---- reading -------------------------------------------------------------------------

    private void run() {
        long backoffMs = 100;
        while (running) {
            try (Connection db = DriverManager.getConnection(dataSource.getJdbcUrl(),
                    dataSource.getUsername(), dataSource.getPassword())) {
                listening = db;
                db.setAutoCommit(true);
                try (Statement s = db.createStatement()) {
                    s.execute("LISTEN " + CHANNEL);
                }
                if (!connected) {
                    log.info("lease change feed connected revision={}", revision());
                }
                connected = true;
                backoffMs = 100;
                PGConnection pg = db.unwrap(PGConnection.class);
                while (running) {
                    boolean more = readOnce(db);
                    if (!more) {
                        caughtUp.countDown();
                    }
                    if (more && pendingGap == null) {
                        continue;
                    }
                    // Blocks until a NOTIFY arrives; the idle timeout doubles as a liveness check.
                    pg.getNotifications(pendingGap != null ? GAP_WAIT_MS : IDLE_WAIT_MS);
                }
            } catch (SQLException e) {
                if (!running) {
                    return;
                }
                if (connected) {
                    log.warn("lease change feed lost the database, reconnecting: {}", e.getMessage());
                }
                connected = false;
                sleep(backoffMs);
                backoffMs = Math.min(backoffMs * 2, 5_000);
            }
        }
    }

    /** Reads and applies what is new; true when there may be more to read right away. */
    private boolean readOnce(Connection db) throws SQLException {
        long from = revision();
        long xminNow = pendingGap != null ? snapshotBound(db, "pg_snapshot_xmin") : 0;
        List<LeaseEventRecord> rows = new ArrayList<>();
        try (PreparedStatement q = db.prepareStatement("""
                SELECT revision, kind, host(underlay_ip), subnet::text, vtep_mac::text, expires_at
                FROM lease_event WHERE revision > ? ORDER BY revision LIMIT ?""")) {
            q.setLong(1, from);
            q.setInt(2, BATCH);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    rows.add(new LeaseEventRecord(rs.getLong(1), rs.getString(2), rs.getString(3),
                            rs.getString(4), rs.getString(5), rs.getObject(6, java.time.OffsetDateTime.class).toInstant()));
                }
            }
        }
        List<LeaseEventRecord> ready = new ArrayList<>(rows.size());
        long cursor = from;
        boolean blocked = false;
        for (LeaseEventRecord row : rows) {
            if (row.revision() != cursor + 1) {
                boolean settled = pendingGap != null && xminNow >= pendingGap.xmax() && row.revision() <= pendingGap.below();
                if (!settled) {
                    blocked = true;
                    break;
                }
            }
            ready.add(row);
            cursor = row.revision();
        }
        if (!ready.isEmpty()) {
            apply(ready);
        }
        if (blocked) {
            if (pendingGap == null || xminNow >= pendingGap.xmax()) {
                // Every revision below the highest one seen was drawn by a transaction that
                // already has an xid below this snapshot's xmax.
                pendingGap = new Gap(rows.getLast().revision(), snapshotBound(db, "pg_snapshot_xmax"));
            }
            return true;
        }
        pendingGap = null;
        return rows.size() == BATCH;
    }

    private static long snapshotBound(Connection db, String function) throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT " + function + "(pg_current_snapshot())::text")) {
            rs.next();
            return Long.parseLong(rs.getString(1));
        }
    }

    private synchronized void apply(List<LeaseEventRecord> events) {
        for (LeaseEventRecord e : events) {
            if (LeaseEventRecord.DELETED.equals(e.kind())) {
                latest.remove(e.underlayIp());
            } else {
                latest.put(e.underlayIp(), e);
            }
            replay.addLast(e);
            if (replay.size() > replayCapacity) {
                replayFrom = replay.removeFirst().revision();
            }
        }
        revision = events.getLast().revision();
        for (LeaseFeedSubscriber s : subscribers) {
            s.events(events);
        }
    }

    // ---- serving -------------------------------------------------------------------------

    /**
     * Registers a subscriber. From revision 0, or one older than this replica can replay, it gets a
     * snapshot first; otherwise the events after {@code fromRevision} this replica holds.
     */
    public synchronized void subscribe(long fromRevision, LeaseFeedSubscriber subscriber) {
        if (fromRevision <= 0 || fromRevision < replayFrom) {
            subscriber.reset(routableNow(), revision);
        } else if (fromRevision < revision) {
            List<LeaseEventRecord> backlog = new ArrayList<>();
            var it = replay.descendingIterator();
            while (it.hasNext()) {
                LeaseEventRecord e = it.next();
                if (e.revision() <= fromRevision) {
                    break;
                }
                backlog.add(e);
            }
            subscriber.events(backlog.reversed());
        }
        subscribers.add(subscriber);
    }

    public synchronized void unsubscribe(LeaseFeedSubscriber subscriber) {
        subscribers.remove(subscriber);
    }

    /** The routable leases and the revision they reflect. */
    public synchronized Snapshot snapshot() {
        return new Snapshot(routableNow(), revision);
    }

    public record Snapshot(List<LeaseEventRecord> leases, long revision) {}

    private List<LeaseEventRecord> routableNow() {
        Instant now = Instant.now();
        List<LeaseEventRecord> out = new ArrayList<>(latest.size());
        for (LeaseEventRecord e : latest.values()) {
            if (LeaseEventRecord.UPSERTED.equals(e.kind()) && e.expiresAt().isAfter(now)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Counts for metrics: [routable, expired, all known]. */
    public synchronized long[] counts() {
        Instant now = Instant.now();
        long routable = 0;
        for (LeaseEventRecord e : latest.values()) {
            if (LeaseEventRecord.UPSERTED.equals(e.kind()) && e.expiresAt().isAfter(now)) {
                routable++;
            }
        }
        return new long[] {routable, latest.size() - routable, latest.size()};
    }

    /** Subnets of leases this replica knows, routable or not. */
    public synchronized List<String> knownSubnets() {
        return latest.values().stream().map(LeaseEventRecord::subnet).toList();
    }

    public synchronized long revision() {
        return revision;
    }

    public synchronized int subscriberCount() {
        return subscribers.size();
    }

    public boolean isConnected() {
        return connected;
    }

    /** Waits until the feed has read the whole log once; false on timeout. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ---- lifecycle -----------------------------------------------------------------------

    @Override
    public void start() {
        running = true;
        try (Connection db = dataSource.getConnection();
             Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT revision FROM lease_event_horizon WHERE id = 1")) {
            replayFrom = rs.next() ? rs.getLong(1) : 0;
        } catch (SQLException e) {
            throw new IllegalStateException("lease change feed: read the event horizon: " + e.getMessage(), e);
        }
        reader = Thread.ofPlatform().name("lease-change-feed").daemon().start(this::run);
        try {
            if (!awaitCaughtUp(Duration.ofSeconds(60))) {
                log.warn("lease change feed has not caught up after 60 s; serving what it has");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void stop() {
        running = false;
        Thread t = reader;
        if (t != null) {
            t.interrupt();
        }
        // Closing the connection ends a read blocked waiting for a NOTIFY.
        Connection db = listening;
        if (db != null) {
            try {
                db.close();
            } catch (SQLException ignored) {
                // Closing anyway.
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Start before the gRPC server (which serves from this feed) and stop after it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
