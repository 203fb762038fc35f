package io.silk.daemon.lease;

import static io.silk.daemon.Cells.CELL;
import static io.silk.testing.Eventually.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.silk.daemon.Cells;
import io.silk.daemon.TestLeases;
import io.silk.daemon.controller.GrpcController;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.InMemoryOverlay;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import io.silk.testing.FakeController;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lease watch on the shared resumable loop: snapshots replace the view, resumes carry revision and database. */
class LeaseWatcherTest {

    @TempDir
    Path dir;

    final FakeController fake = FakeController.start();
    final GrpcController controller = Cells.controller(fake);
    final CellState cell = new CellState();
    final InMemoryOverlay overlay = new InMemoryOverlay();
    LeaseWatcher watcher;
    Thread loop;

    @BeforeEach
    void start() {
        HeldLease self = controller.acquire(TestLeases.ip(CELL)).lease();
        overlay.ensureVtep(self, 0);
        cell.lease(self, 1450);
        watcher = new LeaseWatcher(controller, cell, overlay);
    }

    void watch() {
        loop = Thread.ofPlatform().name("test-lease-watch").start(watcher::watchLoop);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (loop != null) {
            loop.interrupt();
            loop.join();
        }
        cell.close();
        controller.close();
        fake.close();
    }

    Set<String> remoteSubnets() {
        return Set.copyOf(overlay.remotes().values().stream().map(r -> r.subnet().toString()).toList());
    }

    @Test
    void aSnapshotConvergesTheOverlayAndDeltasFollow() {
        fake.putLease("10.0.0.6", "10.255.6.0/24");
        watch();
        await("B routed", () -> remoteSubnets().equals(Set.of("10.255.6.0/24")));

        fake.putLease("10.0.0.7", "10.255.7.0/24");
        await("C routed", () -> remoteSubnets().equals(Set.of("10.255.6.0/24", "10.255.7.0/24")));
        fake.removeLease("10.0.0.6");
        await("B gone", () -> remoteSubnets().equals(Set.of("10.255.7.0/24")));
        assertThat(watcher.connected()).isTrue();
    }

    @Test
    void aBrokenWatchResumesFromItsRevisionAndDatabaseAndGetsOnlyWhatItMissed() {
        fake.putLease("10.0.0.6", "10.255.6.0/24");
        watch();
        await("first snapshot", () -> remoteSubnets().size() == 1);
        long revision = watcher.position().revision();
        assertThat(revision).isEqualTo(fake.revision());
        assertThat(watcher.position().databaseId()).isEqualTo(fake.databaseId());

        fake.unreachable();
        fake.putLease("10.0.0.7", "10.255.7.0/24"); // while the daemon cannot see it
        fake.reachable();

        await("the missed lease arrives", () -> remoteSubnets().contains("10.255.7.0/24"));
        WatchRequest resume = fake.leaseWatches().getLast();
        assertThat(resume.getFromRevision()).isEqualTo(revision);
        assertThat(resume.getDatabaseId()).isEqualTo(fake.databaseId());
        assertThat(remoteSubnets()).containsExactlyInAnyOrder("10.255.6.0/24", "10.255.7.0/24");
    }

    @Test
    void aNewDatabaseGivesASnapshotThatReplacesTheWholeViewAndStaleRoutesGo() {
        fake.putLease("10.0.0.6", "10.255.6.0/24");
        fake.putLease("10.0.0.7", "10.255.7.0/24");
        fake.putLease("10.0.0.8", "10.255.8.0/24");
        watch();
        await("three remotes", () -> remoteSubnets().size() == 3);
        String oldDatabase = fake.databaseId();
        long oldRevision = watcher.position().revision();

        // Revisions restart in the new database: a resume from the old revision must not be read as "current".
        fake.newDatabase(Map.of("10.0.0.9", "10.255.6.0/24", CELL, "10.255.1.0/24"));

        await("only the new database's leases", () -> remoteSubnets().equals(Set.of("10.255.6.0/24"))
                && overlay.remotes().containsKey(TestLeases.ip("10.0.0.9")));
        WatchRequest resume = fake.leaseWatches().get(1);
        assertThat(resume.getDatabaseId()).isEqualTo(oldDatabase);
        assertThat(resume.getFromRevision()).isEqualTo(oldRevision);
        await("position in the new database", () -> watcher.position().databaseId().equals(fake.databaseId()));
        assertThat(watcher.position().revision()).isEqualTo(fake.revision()).isLessThan(oldRevision);
    }

    @Test
    void aReplicaThatBreaksTheStreamIsLeftForTheNextAttempt() {
        watch();
        await("watching", () -> watcher.connected());
        fake.breakStreams(Status.UNAVAILABLE.withDescription("replica stopping"));
        await("watching again", () -> fake.leaseWatches().size() == 2 && watcher.connected());
        fake.putLease("10.0.0.6", "10.255.6.0/24");
        await("B routed after the reconnect", () -> remoteSubnets().equals(Set.of("10.255.6.0/24")));
    }

    @Test
    void aLeaseThatDoesNotParseIsSkippedAndTheOthersAreStillRouted() {
        Lease good = Lease.newBuilder().setUnderlayIp("10.0.0.6").setOverlaySubnet("10.255.6.0/24")
                .setOverlayHardwareAddr("ee:ee:0a:ff:06:00").build();
        Lease bad = Lease.newBuilder().setUnderlayIp("10.0.0.7").setOverlaySubnet("10.255.7.0")
                .setOverlayHardwareAddr("ee:ee:0a:ff:07:00").build();
        watcher.apply(WatchResponse.newBuilder().setReset(true).addLeases(good).addLeases(bad).build(), true);
        assertThat(remoteSubnets()).isEqualTo(Set.of("10.255.6.0/24"));

        watcher.apply(WatchResponse.newBuilder().addEvents(LeaseEvent.newBuilder().setKind(LeaseEvent.Kind.UPSERTED)
                .setLease(bad.toBuilder().setUnderlayIp("10.0.0.8"))).build(), false);
        assertThat(remoteSubnets()).isEqualTo(Set.of("10.255.6.0/24"));
        assertThat(watcher.remoteCount()).isEqualTo(1);

        // Going away needs only the cell's address.
        watcher.apply(WatchResponse.newBuilder().addEvents(LeaseEvent.newBuilder().setKind(LeaseEvent.Kind.DELETED)
                .setLease(good.toBuilder().setOverlaySubnet(""))).build(), false);
        assertThat(remoteSubnets()).isEmpty();
    }
}
