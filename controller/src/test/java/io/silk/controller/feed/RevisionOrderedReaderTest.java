package io.silk.controller.feed;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.TestPostgres;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.LeaseEvent;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The revision-ordered reader under every feed (here the lease log's). Revisions commit out of order: the feed must hold back a later revision while an earlier one
 * may still commit, and must not wait forever for one whose transaction rolled back.
 */
class RevisionOrderedReaderTest {

    static TestPostgres.Database db;
    static ControllerReplica replica;

    @BeforeAll
    static void start() {
        db = TestPostgres.newDatabase();
        replica = ControllerReplica.start(db);
    }

    @AfterAll
    static void stop() {
        replica.close();
    }

    /** Opens a transaction that draws a revision for a fake event and leaves it uncommitted. */
    static Connection inFlightEvent(String cell, String subnet) throws Exception {
        Connection c = db.connect();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("SELECT append_lease_event('UPSERTED', '" + cell + "', '" + subnet + "', vtep_mac('" + subnet
                    + "'), now() + interval '1 hour')");
        }
        return c;
    }

    @Test
    void aLaterRevisionWaitsForAnEarlierOneStillInFlight() throws Exception {
        WatchClient watcher = new WatchClient();
        watcher.watch(replica.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        watcher.awaitRoutable(m -> true, Duration.ofSeconds(5));

        try (Connection early = inFlightEvent("10.50.0.1", "10.255.250.0/24")) {
            replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.50.0.2").build());
            Thread.sleep(500);
            assertThat(watcher.routable()).as("held back behind the revision in flight").doesNotContainKey("10.50.0.2");
            early.commit();
        }
        watcher.awaitRoutable(m -> m.containsKey("10.50.0.1") && m.containsKey("10.50.0.2"), Duration.ofSeconds(5));
        assertThat(watcher.applied()).extracting(e -> e.getLease().getUnderlayIp()).containsExactly("10.50.0.1", "10.50.0.2");
        assertThat(watcher.applied()).extracting(LeaseEvent::getRevision).isSorted();
        watcher.cancel();
    }

    @Test
    void aRolledBackRevisionIsSkippedPromptly() throws Exception {
        WatchClient watcher = new WatchClient();
        watcher.watch(replica.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        watcher.awaitRoutable(m -> true, Duration.ofSeconds(5));

        try (Connection doomed = inFlightEvent("10.51.0.1", "10.255.251.0/24")) {
            replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.51.0.2").build());
            Thread.sleep(300);
            assertThat(watcher.routable()).doesNotContainKey("10.51.0.2");
            doomed.rollback();
        }
        long t0 = System.nanoTime();
        watcher.awaitRoutable(m -> m.containsKey("10.51.0.2"), Duration.ofSeconds(5));
        assertThat((System.nanoTime() - t0) / 1_000_000).as("ms to pass the gap").isLessThan(1000);
        assertThat(watcher.routable()).doesNotContainKey("10.51.0.1");
        watcher.cancel();
    }

    /** A transaction that has its xid but has drawn no revision yet. */
    static Connection withXid() throws Exception {
        Connection c = db.connect();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_current_xact_id()");
        }
        return c;
    }

    static void drawEvent(Connection c, String cell, String subnet) throws Exception {
        try (Statement s = c.createStatement()) {
            s.execute("SELECT append_lease_event('UPSERTED', '" + cell + "', '" + subnet + "', vtep_mac('" + subnet
                    + "'), now() + interval '1 hour')");
        }
    }

    /**
     * The case the snapshot's xmax gets wrong: the writer of the missing revision has a higher xid
     * than the writer of the later, committed one, so its xid lies above "latest completed + 1".
     * (Found by the Gatling lease-churn run.)
     */
    @Test
    void aMissingRevisionWhoseWriterHasAHigherXidIsNotSkipped() throws Exception {
        WatchClient watcher = new WatchClient();
        watcher.watch(replica.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        watcher.awaitRoutable(m -> true, Duration.ofSeconds(5));

        try (Connection lowXid = withXid(); Connection highXid = withXid()) {
            drawEvent(highXid, "10.52.0.1", "10.255.252.0/24"); // draws the lower revision
            drawEvent(lowXid, "10.52.0.2", "10.255.253.0/24");  // draws the higher revision
            lowXid.commit();
            Thread.sleep(700);
            assertThat(watcher.routable()).as("the later revision waits for the earlier one").doesNotContainKey("10.52.0.2");
            highXid.commit();
        }
        watcher.awaitRoutable(m -> m.containsKey("10.52.0.1") && m.containsKey("10.52.0.2"), Duration.ofSeconds(5));
        assertThat(watcher.applied()).extracting(e -> e.getLease().getUnderlayIp()).containsSubsequence("10.52.0.1", "10.52.0.2");
        watcher.cancel();
    }
}
