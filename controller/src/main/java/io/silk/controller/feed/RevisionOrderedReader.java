package io.silk.controller.feed;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import io.silk.db.Connector;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads an append-only event table in revision order, woken by NOTIFY (push), on a connection of
 * its own that reconnects with backoff.
 *
 * <p>Revisions come from a sequence, so a transaction can commit revision 8 while 7 is still in
 * flight. The reader never passes a missing revision until it is sure no transaction can still
 * commit it. When it meets a gap it takes a transaction id of its own, B: the writer of the
 * missing revision took its xid before drawing the revision (writers do that first), and drew it
 * before the later revision the reader saw was committed, so its xid is below B. Once the
 * snapshot xmin reaches B, every transaction below B has ended, and a revision still missing is
 * one that will never commit. (The snapshot's xmax cannot serve as B: it is one past the latest
 * <em>completed</em> xid, and a running writer's xid can be above it — a bug load tests found.)
 * A rolled-back revision therefore costs milliseconds, never an event.
 *
 * @param <E> one event row
 */
public final class RevisionOrderedReader<E> {

    /** Where events go: the position to read after, and the events to apply, in order. */
    public interface Sink<E> {
        long position();

        void apply(List<E> events);

        /** On every (re)connection before reading, and every few seconds after: the sink checks which database this is. */
        void connected(Connection db) throws SQLException;

        /** Everything committed so far has been applied (called after every read that found the end). */
        void caughtUp();
    }

    /** Maps the current row of the select to an event. */
    public interface RowReader<E> {
        E read(ResultSet rs) throws SQLException;
    }

    private static final Logger log = LoggerFactory.getLogger(RevisionOrderedReader.class);
    private static final int BATCH = 5000;
    /** Reads at least this often without a NOTIFY: bounds the delay when one is lost (writer crashed after commit). */
    private static final int IDLE_WAIT_MS = 1_000;
    /**
     * Re-read this soon while a revision is missing. The missing writer's commit wakes the reader
     * at once (its NOTIFY); the wait only bounds how long a rolled-back revision holds the feed.
     * Under heavy writes a revision is nearly always in flight: a shorter wait polled the database
     * hundreds of times a second for nothing.
     */
    private static final int GAP_WAIT_MS = 10;
    /** Reconnect backoff: capped low so a feed is back within half a second of the database. */
    private static final long BACKOFF_MIN_MS = 50;
    private static final long BACKOFF_MAX_MS = 500;

    private final String name;
    private final String channel;
    private final String select;
    private final RowReader<E> rows;
    private final ToLongFunction<E> revisionOf;
    private final Sink<E> sink;
    private final Connector connector;
    /** How often a connected reader asks the sink to check the database again ({@link Sink#connected}). */
    private final long recheckNanos;

    /** Counted down at the first catch-up, or at the first failed connection (then nobody waits for it). */
    private final CountDownLatch firstRead = new CountDownLatch(1);
    private volatile boolean running;
    private volatile boolean connected;
    private volatile Connection listening;
    private Thread thread;

    /** A gap met below {@code below}: skippable once the snapshot xmin reaches {@code bound}. */
    private record Gap(long below, long bound) {}

    private Gap pendingGap;

    // Read passes: numbered as they start; the number of the last that ended caught up.
    private final Object passes = new Object();
    private long passesStarted;
    private long caughtUpThrough;

    /**
     * @param select a query with two parameters, the revision to read after and a row limit, that
     *               returns events in revision order
     */
    public RevisionOrderedReader(String name, String channel, String select, RowReader<E> rows, ToLongFunction<E> revisionOf,
            Sink<E> sink, Duration recheck, Connector connector) {
        this.name = name;
        this.channel = channel;
        this.select = select;
        this.rows = rows;
        this.revisionOf = revisionOf;
        this.sink = sink;
        this.connector = connector;
        this.recheckNanos = recheck.toNanos();
    }

    /**
     * Starts reading and waits until the whole table has been read once (up to {@code catchUp}),
     * so whoever serves from the sink starts from the full state — unless the database does not
     * answer, when it returns at once and the reader keeps trying in the background.
     */
    public void start(Duration catchUp) {
        running = true;
        thread = Thread.ofPlatform().name(name).daemon().start(this::run);
        try {
            if (!firstRead.await(catchUp.toMillis(), TimeUnit.MILLISECONDS)) {
                log.atWarn().setMessage("change feed has not caught up; serving once it has").addKeyValue("feed", name)
                        .addKeyValue("waited_s", catchUp.toSeconds()).log();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isRunning() {
        return running;
    }

    public void stop() {
        running = false;
        Thread t = thread;
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

    public boolean connected() {
        return connected;
    }

    private void run() {
        long backoffMs = BACKOFF_MIN_MS;
        boolean lost = false;
        while (running) {
            try (Connection db = connector.connect()) {
                listening = db;
                db.setAutoCommit(true);
                try (Statement s = db.createStatement()) {
                    s.execute("LISTEN " + channel);
                }
                pendingGap = null;
                sink.connected(db);
                log.atInfo().setMessage("change feed connected").addKeyValue("feed", name)
                        .addKeyValue("revision", sink.position()).log();
                connected = true;
                lost = false;
                backoffMs = BACKOFF_MIN_MS;
                PGConnection pg = db.unwrap(PGConnection.class);
                long lastCheck = System.nanoTime();
                while (running) {
                    if (System.nanoTime() - lastCheck > recheckNanos) {
                        // The database can be replaced without this connection breaking (a schema
                        // dropped and recreated): look again at which one this is.
                        sink.connected(db);
                        lastCheck = System.nanoTime();
                    }
                    boolean more = readOnce(db);
                    if (!more && pendingGap == null) {
                        sink.caughtUp();
                        firstRead.countDown();
                    }
                    if (more && pendingGap == null) {
                        continue;
                    }
                    // Blocks until a NOTIFY arrives; the idle timeout doubles as a liveness check.
                    pg.getNotifications(pendingGap != null ? GAP_WAIT_MS : IDLE_WAIT_MS);
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                if (e instanceof RuntimeException) {
                    log.atError().setMessage("change feed failed, reconnecting").addKeyValue("feed", name).setCause(e).log();
                } else if (!lost) {
                    log.atWarn().setMessage("change feed lost the database, reconnecting").addKeyValue("feed", name)
                            .addKeyValue("error", e.getMessage()).log();
                    lost = true;
                }
                connected = false;
                firstRead.countDown();
                try {
                    Thread.sleep(backoffMs);
                } catch (InterruptedException ie) {
                    return;
                }
                backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
            }
        }
    }

    /**
     * Waits (up to {@code timeout}) until a read that started after this call has caught up, so
     * that everything committed before the call has been applied; false on timeout. The caller
     * wakes the reader (a NOTIFY on its channel) when it cannot wait for the next periodic read.
     */
    public boolean awaitCatchUpAfterNow(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (passes) {
            long after = passesStarted;
            while (caughtUpThrough <= after) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(passes, left);
            }
            return true;
        }
    }

    /** Reads and applies what is new; true when there may be more to read right away. */
    private boolean readOnce(Connection db) throws SQLException {
        long pass;
        synchronized (passes) {
            pass = ++passesStarted;
        }
        boolean more = readAndApply(db);
        if (!more && pendingGap == null) {
            synchronized (passes) {
                caughtUpThrough = pass;
                passes.notifyAll();
            }
        }
        return more;
    }

    private boolean readAndApply(Connection db) throws SQLException {
        long from = sink.position();
        long xminNow = pendingGap != null ? snapshotBound(db, "pg_snapshot_xmin") : 0;
        List<E> read = new ArrayList<>();
        try (PreparedStatement q = db.prepareStatement(select)) {
            q.setLong(1, from);
            q.setInt(2, BATCH);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    read.add(rows.read(rs));
                }
            }
        }
        List<E> ready = new ArrayList<>(read.size());
        long cursor = from;
        boolean blocked = false;
        for (E row : read) {
            long revision = revisionOf.applyAsLong(row);
            if (revision != cursor + 1) {
                boolean settled = pendingGap != null && xminNow >= pendingGap.bound() && revision <= pendingGap.below();
                if (!settled) {
                    blocked = true;
                    break;
                }
                log.atWarn().setMessage("skipping revisions whose transactions ended without committing")
                        .addKeyValue("feed", name).addKeyValue("from", cursor + 1).addKeyValue("to", revision - 1).log();
            }
            ready.add(row);
            cursor = revision;
        }
        if (!ready.isEmpty()) {
            sink.apply(ready);
        }
        if (blocked) {
            if (pendingGap == null || xminNow >= pendingGap.bound()) {
                // Every revision below the highest one seen was drawn by a transaction whose xid
                // is below one assigned now.
                pendingGap = new Gap(revisionOf.applyAsLong(read.getLast()), newXid(db));
            }
            return true;
        }
        pendingGap = null;
        return read.size() == BATCH;
    }

    /** Assigns and returns a transaction id (the statement's own; it ends right away). */
    private static long newXid(Connection db) throws SQLException {
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_current_xact_id()::text")) {
            rs.next();
            return Long.parseLong(rs.getString(1));
        }
    }

    private static long snapshotBound(Connection db, String function) throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT " + function + "(pg_current_snapshot())::text")) {
            rs.next();
            return Long.parseLong(rs.getString(1));
        }
    }
}
