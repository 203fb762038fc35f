package io.silk.controller.feed;

import io.silk.controller.database.DatabaseIdentity;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * This replica's view of one event log: the latest event of every thing, and a bounded window of
 * recent events to replay, kept by one {@link RevisionOrderedReader} however many watches there
 * are. Subscribers get a snapshot, a backlog, or word that they are current, then every change
 * that interests them, all in revision order.
 *
 * <p>A resume from revision 0, from below what this replica can replay, from a revision ahead of
 * it, or from another database gets a snapshot: a cell must never keep state the server cannot
 * vouch for. When the database under a running replica is replaced (another identity, or its
 * revisions went backwards: restored from a backup), the feed starts over and cuts every stream
 * off, so each resumes and is given a snapshot.
 */
public final class ChangeFeed<K, E> implements SmartLifecycle {

    /** Receives the feed; called with the feed's lock held, in revision order: only queue, never block. */
    public interface Subscriber<E> {
        /** Replace everything known with these, as of {@code revision}. */
        void reset(List<E> current, long revision);

        /** Apply these changes (never empty); the last one's revision is the new position. */
        void events(List<E> events);

        /** Nothing to catch up on: the subscriber is current at {@code revision}. */
        void current(long revision);

        /** The stream must end: the subscriber resumes elsewhere or later. */
        void abort(String why);
    }

    /** What the replica does when the feed finds its database replaced (or, at first, without a schema). */
    public interface OnReplaced {
        /** {@code knewAnother}: the feed had read another database before (false: a first database found empty). */
        void replaced(boolean knewAnother);
    }

    private static final Logger log = LoggerFactory.getLogger(ChangeFeed.class);
    private static final String UNDEFINED_TABLE = "42P01";

    private final EventLog<K, E> eventLog;
    private final int replayCapacity;
    private final RevisionOrderedReader<E> reader;
    private volatile OnReplaced onDatabaseReplaced = replacement -> {};

    // Guarded by this.
    private final Map<K, E> latest = new LinkedHashMap<>();
    private final ArrayDeque<E> replay = new ArrayDeque<>();
    private final Map<Subscriber<E>, Predicate<? super E>> subscribers = new LinkedHashMap<>();
    private long revision;
    /** Resumes from below this revision cannot be replayed: they get a snapshot. */
    private long replayFrom;
    private String databaseId;
    private boolean ready;
    /** The live things of one revision, shared by every snapshot taken at it. */
    private List<E> liveCache;
    private long liveCacheRevision = -1;
    /** Events applied since start: what start-up cost (compaction keeps it near one per live thing). */
    private long eventsApplied;

    /** @param identityRecheck how often the connected feed looks again at which database it reads */
    public ChangeFeed(EventLog<K, E> eventLog, int replayCapacity, Duration identityRecheck, io.silk.db.Connector connector) {
        this.eventLog = eventLog;
        this.replayCapacity = replayCapacity;
        this.reader = new RevisionOrderedReader<>(eventLog.name() + "-change-feed", eventLog.channel(),
                "SELECT " + eventLog.columns() + " FROM " + eventLog.table() + " WHERE revision > ? ORDER BY revision LIMIT ?",
                eventLog::read, eventLog::revision, new Sink(), identityRecheck, connector);
    }

    public EventLog<K, E> eventLog() {
        return eventLog;
    }

    private final class Sink implements RevisionOrderedReader.Sink<E> {
        @Override
        public long position() {
            return revision();
        }

        @Override
        public void apply(List<E> events) {
            ChangeFeed.this.apply(events);
        }

        @Override
        public void connected(Connection db) throws SQLException {
            ChangeFeed.this.connected(db);
        }

        @Override
        public void caughtUp() {
            synchronized (ChangeFeed.this) {
                if (!ready) {
                    ready = true;
                    log.atInfo().setMessage("change feed caught up").addKeyValue("event_log", eventLog.name())
                            .addKeyValue("revision", revision).addKeyValue("things", latest.size()).log();
                }
            }
        }
    }

    /** On every (re)connection: which database is this, and how far back can it be replayed. */
    private void connected(Connection db) throws SQLException {
        Identity id;
        long horizon;
        long sequenceAt;
        try {
            id = databaseIdentity(db);
        } catch (SQLException e) {
            if (!UNDEFINED_TABLE.equals(e.getSQLState())) {
                throw e;
            }
            // An empty database took the old one's place: set it up, then read it.
            log.atWarn().setMessage("the database has no schema; setting it up").addKeyValue("event_log", eventLog.name()).log();
            boolean knewOne;
            synchronized (this) {
                knewOne = databaseId != null;
            }
            replacedDatabase(knewOne);
            id = databaseIdentity(db);
        }
        try (PreparedStatement s = db.prepareStatement("SELECT revision FROM event_horizon WHERE log = ?")) {
            s.setString(1, eventLog.name());
            try (ResultSet rs = s.executeQuery()) {
                horizon = rs.next() ? rs.getLong(1) : 0;
            }
        }
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM " + eventLog.sequence())) {
            sequenceAt = rs.next() ? rs.getLong(1) : 0;
        }
        List<Subscriber<E>> cut = List.of();
        boolean replaced = false;
        synchronized (this) {
            // Another identity, revisions gone back, or a copy of this very database (a dump or a
            // point-in-time recovery restored in its place: same uuid, and its sequence may even be
            // ahead, since PostgreSQL logs sequence values in advance).
            if (databaseId != null && (!databaseId.equals(id.uuid()) || id.copied() || sequenceAt < revision)) {
                replaced = true;
                log.atWarn().setMessage("the database was replaced under this replica; starting the feed over")
                        .addKeyValue("event_log", eventLog.name()).addKeyValue("database_id", id.uuid())
                        .addKeyValue("previous_database_id", databaseId).addKeyValue("revision", revision)
                        .addKeyValue("database_revision", sequenceAt).log();
                cut = new ArrayList<>(subscribers.keySet());
                subscribers.clear();
                latest.clear();
                replay.clear();
                revision = 0;
                liveCacheRevision = -1;
                ready = false;
            }
            databaseId = id.uuid();
            replayFrom = Math.max(replayFrom, horizon);
        }
        if (!cut.isEmpty() || replaced) {
            replacedDatabase(true);
            // Setting a copy up gives it an identity of its own: remember that one, not the copy's.
            String adopted = databaseIdentity(db).uuid();
            synchronized (this) {
                databaseId = adopted;
            }
        }
        for (Subscriber<E> s : cut) {
            s.abort("the controller's database was replaced; resume to get a snapshot");
        }
    }

    private void replacedDatabase(boolean knewAnother) throws SQLException {
        try {
            onDatabaseReplaced.replaced(knewAnother);
        } catch (RuntimeException e) {
            throw new SQLException(e.getMessage(), e);
        }
    }

    /** The identity row's uuid, and whether the row names another database than this one. */
    private record Identity(String uuid, boolean copied) {}

    private static Identity databaseIdentity(Connection db) throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT uuid::text, " + DatabaseIdentity.COPIED + " FROM database_identity WHERE id = 1")) {
            return rs.next() ? new Identity(rs.getString(1), rs.getBoolean(2)) : new Identity("", false);
        }
    }

    /**
     * Runs when the feed finds that its database was replaced (another identity, revisions gone
     * back, or no schema at all), on the feed's thread before it reads on: the replica sets the new
     * database up (migrations, the subnet pool). Must be idempotent.
     */
    public void onDatabaseReplaced(OnReplaced action) {
        this.onDatabaseReplaced = action;
    }

    private synchronized void apply(List<E> events) {
        for (E e : events) {
            if (eventLog.removes(e)) {
                latest.remove(eventLog.key(e));
            } else {
                latest.put(eventLog.key(e), e);
            }
            replay.addLast(e);
            if (replay.size() > replayCapacity) {
                replayFrom = eventLog.revision(replay.removeFirst());
            }
        }
        revision = eventLog.revision(events.getLast());
        eventsApplied += events.size();
        for (var s : subscribers.entrySet()) {
            List<E> wanted = filter(events, s.getValue());
            if (!wanted.isEmpty()) {
                s.getKey().events(wanted);
            }
        }
    }

    private static <E> List<E> filter(List<E> events, Predicate<? super E> interest) {
        if (interest == ALL) {
            return events;
        }
        List<E> out = new ArrayList<>();
        for (E e : events) {
            if (interest.test(e)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Every event: the interest of a subscriber that wants the whole log (its snapshots are shared). */
    public static final Predicate<Object> ALL = e -> true;

    /**
     * Registers a subscriber and, before returning and under the feed's lock, gives it exactly one
     * of a snapshot, a backlog or "current", so nothing the feed applies later can overtake it.
     *
     * @param clientDatabaseId the database the client's revision came from; empty when unknown
     */
    public synchronized void subscribe(long fromRevision, String clientDatabaseId, Predicate<? super E> interest,
            Subscriber<E> subscriber) {
        if (!ready) {
            throw new NotReady(eventLog.name() + " change feed has not read the database yet; retry shortly");
        }
        boolean otherDatabase = clientDatabaseId != null && !clientDatabaseId.isEmpty()
                && !clientDatabaseId.equals(databaseId);
        if (fromRevision <= 0 || fromRevision < replayFrom || fromRevision > revision || otherDatabase) {
            subscriber.reset(current(interest), revision);
        } else if (fromRevision < revision) {
            List<E> backlog = new ArrayList<>();
            var it = replay.descendingIterator();
            while (it.hasNext()) {
                E e = it.next();
                if (eventLog.revision(e) <= fromRevision) {
                    break;
                }
                if (interest.test(e)) {
                    backlog.add(e);
                }
            }
            if (backlog.isEmpty()) {
                subscriber.current(revision);
            } else {
                subscriber.events(backlog.reversed());
            }
        } else {
            subscriber.current(revision);
        }
        subscribers.put(subscriber, interest);
    }

    public synchronized void unsubscribe(Subscriber<E> subscriber) {
        subscribers.remove(subscriber);
    }

    /** The live things of interest and the revision they reflect; throws {@link NotReady} before the first read. */
    public synchronized Snapshot<E> snapshot(Predicate<? super E> interest) {
        if (!ready) {
            throw new NotReady(eventLog.name() + " change feed has not read the database yet; retry shortly");
        }
        return new Snapshot<>(current(interest), revision, databaseId);
    }

    public record Snapshot<E>(List<E> things, long revision, String databaseId) {}

    private List<E> current(Predicate<? super E> interest) {
        if (interest == ALL && liveCacheRevision == revision) {
            return liveCache;
        }
        List<E> out = new ArrayList<>(interest == ALL ? latest.size() : 16);
        for (E e : latest.values()) {
            if (eventLog.live(e) && interest.test(e)) {
                out.add(e);
            }
        }
        List<E> result = Collections.unmodifiableList(out);
        if (interest == ALL) {
            liveCache = result;
            liveCacheRevision = revision;
        }
        return result;
    }

    /** Folds over the latest event of every thing this replica knows, live or not (metrics). */
    public synchronized <R> R latest(java.util.function.Function<Collection<E>, R> f) {
        return f.apply(latest.values());
    }

    public synchronized long eventsApplied() {
        return eventsApplied;
    }

    public synchronized long revision() {
        return revision;
    }

    public synchronized String databaseId() {
        return databaseId;
    }

    public synchronized boolean ready() {
        return ready;
    }

    public synchronized int subscriberCount() {
        return subscribers.size();
    }

    /**
     * Waits (up to {@code timeout}) until the feed has applied everything committed before this
     * call (read-your-writes for List); false on timeout. Wake the reader first (a NOTIFY on the
     * log's channel) or this waits for the next periodic read.
     */
    public boolean awaitCatchUpAfterNow(Duration timeout) {
        try {
            return reader.awaitCatchUpAfterNow(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public boolean isConnected() {
        return reader.connected();
    }

    /**
     * Starts reading. Waits (up to {@code catchUp}) for the first full read while the database
     * answers, so a replica that can serve starts serving from the full state; one whose database
     * is down starts anyway and serves once the feed has caught up.
     */
    public void start(Duration catchUp) {
        reader.start(catchUp);
    }

    @Override
    public void start() {
        start(Duration.ofSeconds(60));
    }

    @Override
    public void stop() {
        reader.stop();
    }

    @Override
    public boolean isRunning() {
        return reader.isRunning();
    }

    /** Start before the gRPC server (which serves from the feeds) and stop after it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }
}
