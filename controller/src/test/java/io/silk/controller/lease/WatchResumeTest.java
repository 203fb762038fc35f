package io.silk.controller.lease;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.WatchResponse;
import io.silk.testing.TestPostgres;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A watch resumed from a revision the server cannot vouch for (ahead of it, from another
 * database) gets a snapshot, never a silent gap; a database replaced under a running replica cuts
 * every stream so that each resumes to a snapshot of the new one.
 */
class WatchResumeTest {

    TestPostgres.Database db;
    ControllerReplica replica;
    LeaseServiceBlockingStub leases;

    @BeforeEach
    void start() {
        db = TestPostgres.newDatabase();
        replica = ControllerReplica.start(db);
        leases = replica.operatorStub();
    }

    @AfterEach
    void stop() {
        replica.close();
    }

    private void acquire(String cell) {
        leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
    }

    @Test
    void aResumeFromAheadOfTheServerGetsASnapshotAndThenEveryChange() throws Exception {
        acquire("10.5.0.1");
        long current = leases.list(ListRequest.getDefaultInstance()).getRevision();

        WatchClient watcher = new WatchClient();
        watcher.watchFrom(replica.channel(TestPki.operator()), current + 5, "");
        watcher.awaitEstablished(Duration.ofSeconds(5));
        WatchResponse first = watcher.responses().getFirst();
        assertThat(first.getReset()).as("a snapshot, not 'you are current'").isTrue();
        assertThat(first.getDatabaseId()).isNotEmpty();
        assertThat(first.getRevision()).isEqualTo(current);
        assertThat(watcher.routable()).containsOnlyKeys("10.5.0.1");

        acquire("10.5.0.2");
        watcher.awaitRoutable(m -> m.containsKey("10.5.0.2"), Duration.ofSeconds(5));
        watcher.cancel();
    }

    @Test
    void aResumeFromAnotherDatabaseGetsASnapshotAndOneFromThisDatabaseDoesNot() throws Exception {
        acquire("10.5.1.1");
        WatchClient probe = new WatchClient();
        probe.watch(replica.channel(TestPki.operator()));
        probe.awaitEstablished(Duration.ofSeconds(5));
        String thisDatabase = probe.databaseId();
        long revision = probe.revision();
        probe.cancel();
        assertThat(thisDatabase).isNotEmpty();

        WatchClient same = new WatchClient();
        same.watchFrom(replica.channel(TestPki.operator()), revision, thisDatabase);
        same.awaitEstablished(Duration.ofSeconds(5));
        assertThat(same.responses().getFirst().getReset()).as("same database, current revision").isFalse();
        same.cancel();

        WatchClient other = new WatchClient();
        other.watchFrom(replica.channel(TestPki.operator()), revision, "5a1e1a5e-0000-4000-8000-000000000000");
        other.awaitEstablished(Duration.ofSeconds(5));
        WatchResponse first = other.responses().getFirst();
        assertThat(first.getReset()).as("another database's revision means nothing here").isTrue();
        assertThat(first.getDatabaseId()).isEqualTo(thisDatabase);
        assertThat(other.routable()).containsKey("10.5.1.1");
        other.cancel();
    }

    @Test
    void aDatabaseRecreatedUnderARunningReplicaCutsStreamsAndTheyResumeToTheNewOnesSnapshot() throws Exception {
        acquire("10.5.2.1");
        acquire("10.5.2.2");
        WatchClient watcher = new WatchClient();
        watcher.watch(replica.channel(TestPki.operator()));
        watcher.awaitRoutable(m -> m.size() == 2, Duration.ofSeconds(5));
        String oldDatabase = watcher.databaseId();
        long oldRevision = watcher.revision();

        // The database is lost and an empty one takes its place: revisions start again at 1.
        try (var c = db.connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        }
        Status end = watcher.awaitEnd(Duration.ofSeconds(15));
        assertThat(end.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(end.getDescription()).contains("database was replaced");

        // The replica set the new database up and fenced it: cells holding leases renew first.
        try {
            acquire("10.5.2.3");
            throw new AssertionError("a new cell was served while the new database was fenced");
        } catch (io.grpc.StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("fenced");
        }
        // An operator ends the fence: a new cell gets a lease there.
        replica.actuator("DELETE", "fence", null);
        acquire("10.5.2.3");
        watcher.watch(replica.channel(TestPki.operator()));
        watcher.awaitRoutable(m -> m.containsKey("10.5.2.3"), Duration.ofSeconds(5));
        assertThat(watcher.routable()).as("stale leases of the old database are gone").containsOnlyKeys("10.5.2.3");
        assertThat(watcher.databaseId()).isNotEqualTo(oldDatabase);
        assertThat(watcher.revision()).as("revisions of the new database").isLessThan(oldRevision);
        watcher.cancel();
    }
}
