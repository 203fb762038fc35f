package io.silk.controller.watch;

import com.zaxxer.hikari.HikariDataSource;
import io.silk.controller.feed.RevisionOrderedReader;
import io.silk.controller.lease.LeaseEventRecord;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * This replica's view of every lease, kept by reading {@code lease_event} in revision order (see
 * {@link RevisionOrderedReader}). One reader per replica, however many watch streams: each write's
 * NOTIFY wakes it, it reads what is new, and fans it out to subscribers in memory.
 */
@Component
public class LeaseChangeFeed implements SmartLifecycle {


    private final HikariDataSource dataSource;
    private final int replayCapacity;
    private final RevisionOrderedReader<LeaseEventRecord> reader;

    // Guarded by this.
    private final Map<String, LeaseEventRecord> latest = new HashMap<>();
    private final ArrayDeque<LeaseEventRecord> replay = new ArrayDeque<>();
    private final Set<LeaseFeedSubscriber> subscribers = new LinkedHashSet<>();
    private long revision;
    /** Watches resuming from below this revision cannot be replayed and get a snapshot. */
    private long replayFrom;


    public LeaseChangeFeed(DataSource dataSource,
            @Value("${silk.controller.watch.replay-buffer:100000}") int replayCapacity) {
        if (!(dataSource instanceof HikariDataSource hikari)) {
            throw new IllegalStateException("lease change feed needs a HikariDataSource, got " + dataSource.getClass());
        }
        this.dataSource = hikari;
        this.replayCapacity = replayCapacity;
        this.reader = new RevisionOrderedReader<>("lease-change-feed", "silk_lease_events",
                "SELECT revision, kind, host(underlay_ip), subnet::text, vtep_mac::text, expires_at"
                        + " FROM lease_event WHERE revision > ? ORDER BY revision LIMIT ?",
                rs -> new LeaseEventRecord(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getObject(6, java.time.OffsetDateTime.class).toInstant()),
                LeaseEventRecord::revision,
                new RevisionOrderedReader.Sink<>() {
                    @Override
                    public long position() {
                        return revision();
                    }

                    @Override
                    public void apply(List<LeaseEventRecord> events) {
                        LeaseChangeFeed.this.apply(events);
                    }
                },
                hikari);
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

    /**
     * Routable means the last event was UPSERTED. Not judged by the event's expires_at: a renew of
     * a live lease writes no event, so that time is stale; expiry arrives as an EXPIRED event.
     */
    private List<LeaseEventRecord> routableNow() {
        if (routable != null && routableRevision == revision) {
            return routable;
        }
        List<LeaseEventRecord> out = new ArrayList<>(latest.size());
        for (LeaseEventRecord e : latest.values()) {
            if (LeaseEventRecord.UPSERTED.equals(e.kind())) {
                out.add(e);
            }
        }
        routable = List.copyOf(out);
        routableRevision = revision;
        return routable;
    }

    // Guarded by this: the routable list of one revision, shared by every snapshot taken at it.
    private List<LeaseEventRecord> routable;
    private long routableRevision;

    /** Counts for metrics: [routable, expired, all known]. */
    public synchronized long[] counts() {
        long routable = 0;
        for (LeaseEventRecord e : latest.values()) {
            if (LeaseEventRecord.UPSERTED.equals(e.kind())) {
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
        return reader.connected();
    }

    // ---- lifecycle -----------------------------------------------------------------------

    @Override
    public void start() {
        try (Connection db = dataSource.getConnection();
             Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT revision FROM lease_event_horizon WHERE id = 1")) {
            replayFrom = rs.next() ? rs.getLong(1) : 0;
        } catch (SQLException e) {
            throw new IllegalStateException("lease change feed: read the event horizon: " + e.getMessage(), e);
        }
        reader.start(Duration.ofSeconds(60));
    }

    @Override
    public void stop() {
        reader.stop();
    }

    @Override
    public boolean isRunning() {
        return reader.isRunning();
    }

    /** Start before the gRPC server (which serves from this feed) and stop after it. */
    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }
}
