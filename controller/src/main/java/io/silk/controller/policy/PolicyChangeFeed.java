package io.silk.controller.policy;

import com.zaxxer.hikari.HikariDataSource;
import io.silk.controller.feed.RevisionOrderedReader;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Every current policy, kept by reading {@code policy_event} in revision order (the policy
 * server writes it; its NOTIFY wakes this feed on every replica). Serves each cell the policies
 * that concern its apps: a snapshot, then the changes.
 */
@Component
public class PolicyChangeFeed implements SmartLifecycle {

    /** Receives the feed, filtered to its apps; called with the feed's lock held: only queue. */
    public interface Subscriber {
        void reset(List<PolicyEvent> current, long revision);

        void events(List<PolicyEvent> events);
    }


    private final RevisionOrderedReader<PolicyEvent> reader;
    private final int replayCapacity;

    // Guarded by this.
    private final Map<String, PolicyEvent> current = new LinkedHashMap<>();
    private final ArrayDeque<PolicyEvent> replay = new ArrayDeque<>();
    private final Map<Subscriber, Set<String>> subscribers = new LinkedHashMap<>();
    private long revision;
    private long replayFrom;

    public PolicyChangeFeed(DataSource dataSource, @Value("${silk.controller.watch.replay-buffer:100000}") int replayCapacity) {
        if (!(dataSource instanceof HikariDataSource hikari)) {
            throw new IllegalStateException("policy change feed needs a HikariDataSource, got " + dataSource.getClass());
        }
        this.replayCapacity = replayCapacity;
        this.reader = new RevisionOrderedReader<>("policy-change-feed", "silk_policy_events",
                "SELECT revision, kind, policy_type, policy_id, source_id, detail->>'destination_id', detail->>'protocol',"
                        + " (detail->>'start_port')::int, (detail->>'end_port')::int, (detail->>'source_tag')::int,"
                        + " (detail->>'destination_tag')::int, detail->>'start_ip', detail->>'end_ip',"
                        + " (detail->>'icmp_type')::int, (detail->>'icmp_code')::int"
                        + " FROM policy_event WHERE revision > ? ORDER BY revision LIMIT ?",
                PolicyChangeFeed::read, PolicyEvent::revision,
                new RevisionOrderedReader.Sink<>() {
                    @Override
                    public long position() {
                        return revision();
                    }

                    @Override
                    public void apply(List<PolicyEvent> events) {
                        PolicyChangeFeed.this.apply(events);
                    }
                },
                hikari);
    }

    private static PolicyEvent read(ResultSet rs) throws SQLException {
        long revision = rs.getLong(1);
        boolean created = "CREATED".equals(rs.getString(2));
        if ("c2c".equals(rs.getString(3))) {
            return new PolicyEvent(revision, created, C2CPolicy.newBuilder().setId(rs.getLong(4)).setSourceId(rs.getString(5))
                    .setDestinationId(rs.getString(6)).setProtocol(rs.getString(7)).setStartPort(rs.getInt(8))
                    .setEndPort(rs.getInt(9)).setSourceTag(rs.getInt(10)).setDestinationTag(rs.getInt(11)).build(), null);
        }
        EgressPolicy.Builder e = EgressPolicy.newBuilder().setId(rs.getLong(4)).setSourceId(rs.getString(5))
                .setProtocol(rs.getString(7)).setSourceTag(rs.getInt(10)).setStartIp(rs.getString(12)).setEndIp(rs.getString(13));
        int startPort = rs.getInt(8);
        if (!rs.wasNull()) {
            e.setStartPort(startPort).setEndPort(rs.getInt(9));
        }
        int type = rs.getInt(14);
        e.setIcmpType(rs.wasNull() ? -1 : type);
        int code = rs.getInt(15);
        e.setIcmpCode(rs.wasNull() ? -1 : code);
        return new PolicyEvent(revision, created, null, e.build());
    }

    private synchronized void apply(List<PolicyEvent> events) {
        for (PolicyEvent e : events) {
            if (e.created()) {
                current.put(e.key(), e);
            } else {
                current.remove(e.key());
            }
            replay.addLast(e);
            if (replay.size() > replayCapacity) {
                replayFrom = replay.removeFirst().revision();
            }
        }
        revision = events.getLast().revision();
        subscribers.forEach((s, apps) -> {
            List<PolicyEvent> mine = events.stream().filter(e -> e.concerns(apps)).toList();
            if (!mine.isEmpty()) {
                s.events(mine);
            }
        });
    }

    /** Subscribes for the apps: a snapshot from 0 or a revision too old to replay, else the backlog. */
    public synchronized void subscribe(Set<String> apps, long fromRevision, Subscriber s) {
        if (fromRevision <= 0 || fromRevision < replayFrom) {
            s.reset(current.values().stream().filter(e -> e.concerns(apps)).toList(), revision);
        } else if (fromRevision < revision) {
            List<PolicyEvent> backlog = new ArrayList<>();
            for (PolicyEvent e : replay) {
                if (e.revision() > fromRevision && e.concerns(apps)) {
                    backlog.add(e);
                }
            }
            if (!backlog.isEmpty()) {
                s.events(backlog);
            }
        }
        subscribers.put(s, Set.copyOf(apps));
    }

    public synchronized void unsubscribe(Subscriber s) {
        subscribers.remove(s);
    }

    public synchronized long revision() {
        return revision;
    }

    public synchronized int subscriberCount() {
        return subscribers.size();
    }

    @Override
    public void start() {
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

    @Override
    public int getPhase() {
        return Integer.MIN_VALUE + 1000;
    }
}
