package io.silk.controller.feed;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.controller.lease.LeaseEventLog;
import io.silk.controller.policy.PolicyEvent;
import io.silk.controller.policy.PolicyEventLog;
import io.silk.controller.testing.ControllerReplica;
import io.silk.testing.TestPostgres;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Compaction keeps every log near one event per live thing, so start-up does not grow with history. */
class EventLogCompactionTest {

    private static final int LIVE = 10;

    @Test
    void startUpReadsOneEventPerLivePolicyWhateverTheNumberOfChangesEverMade() throws Exception {
        var db = TestPostgres.newDatabase();
        try (var replica = ControllerReplica.start(db, "silk.controller.event-log.compaction-interval=1h")) {
            var compaction = replica.context().getBean(EventLogCompaction.class);
            try (var c = db.connect(); Statement s = c.createStatement()) {
                s.execute(createdAndDeleted(1, 1_000));
                s.execute(created(1_000_001, LIVE));
            }
            long small = startUpCost(db, compaction);

            try (var c = db.connect(); Statement s = c.createStatement()) {
                s.execute(createdAndDeleted(10_001, 10_000));
            }
            long large = startUpCost(db, compaction);

            assertThat(small).as("events read at start-up after 1,000 policies came and went").isEqualTo(LIVE);
            assertThat(large).as("events read at start-up after 11,000 policies came and went").isEqualTo(LIVE);
            try (var c = db.connect(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT (SELECT revision FROM event_horizon WHERE log = 'policy'),"
                         + " (SELECT max(revision) FROM policy_event WHERE kind = 'CREATED' AND policy_id < 1000000)")) {
                rs.next();
                assertThat(rs.getLong(1)).as("the horizon rose above the dropped tombstones").isGreaterThan(0);
                assertThat(rs.getObject(2)).as("no CREATED left of the deleted policies").isNull();
            }
        }
    }

    @Test
    void theLeaseLogIsCompactedByTheSameMechanism() throws Exception {
        var db = TestPostgres.newDatabase();
        try (var replica = ControllerReplica.start(db, "silk.controller.event-log.compaction-interval=1h")) {
            var compaction = replica.context().getBean(EventLogCompaction.class);
            try (var c = db.connect(); Statement s = c.createStatement()) {
                // 500 cells that came and went, twice each, and 3 that hold a lease.
                s.execute("SELECT append_lease_event(k, ('10.9.' || (g / 250) || '.' || (g % 250 + 1))::inet,"
                        + " '10.255.7.0/24', vtep_mac('10.255.7.0/24'), now()) FROM (SELECT g, k FROM generate_series(0, 499) g,"
                        + " (VALUES (1, 'UPSERTED'), (2, 'DELETED'), (3, 'UPSERTED'), (4, 'DELETED')) k(o, k)"
                        + " ORDER BY g, o OFFSET 0) x");
                s.execute("SELECT append_lease_event('UPSERTED', ('10.8.0.' || g)::inet, ('10.255.' || (100 + g) || '.0/24')::cidr,"
                        + " vtep_mac(('10.255.' || (100 + g) || '.0/24')::cidr), now()) FROM generate_series(1, 3) g");
                s.execute("UPDATE lease_event SET occurred_at = now() - interval '2 days'");
            }
            compaction.compact(new LeaseEventLog(), Duration.ZERO, Duration.ZERO);
            try (var c = db.connect(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM lease_event")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(3);
            }
        }
    }

    /** Ages the history past retention, compacts, then counts what a feed starting now reads. */
    private static long startUpCost(TestPostgres.Database db, EventLogCompaction compaction) throws Exception {
        try (var c = db.connect(); Statement s = c.createStatement()) {
            s.execute("UPDATE policy_event SET occurred_at = now() - interval '2 days'");
        }
        compaction.compact(new PolicyEventLog(), Duration.ZERO, Duration.ZERO);
        ChangeFeed<PolicyEvent.Key, PolicyEvent> feed = new ChangeFeed<>(new PolicyEventLog(), 1000, java.time.Duration.ofSeconds(5), db::connect);
        feed.start(Duration.ofSeconds(30));
        try {
            assertThat(feed.ready()).isTrue();
            assertThat(feed.snapshot(ChangeFeed.ALL).things()).hasSize(LIVE);
            return feed.eventsApplied();
        } finally {
            feed.stop();
        }
    }

    private static String createdAndDeleted(int from, int count) {
        // Ordered before the appends run, so each policy's CREATED gets the lower revision.
        return "SELECT append_policy_event(k, 'c2c', g, 'app-a', jsonb_build_object('destination_id', 'app-b',"
                + " 'protocol', 'tcp', 'start_port', 8080, 'end_port', 8080, 'source_tag', 1, 'destination_tag', 2))"
                + " FROM (SELECT g, k FROM generate_series(" + from + ", " + (from + count - 1) + ") g,"
                + " (VALUES (1, 'CREATED'), (2, 'DELETED')) k(o, k) ORDER BY g, o OFFSET 0) x";
    }

    private static String created(int from, int count) {
        return "SELECT append_policy_event('CREATED', 'c2c', g, 'app-a', jsonb_build_object('destination_id', 'app-b',"
                + " 'protocol', 'tcp', 'start_port', 8080, 'end_port', 8080, 'source_tag', 1, 'destination_tag', 2))"
                + " FROM generate_series(" + from + ", " + (from + count - 1) + ") g";
    }
}
