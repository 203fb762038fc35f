package io.silk.controller.lease;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.TestPostgres;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ReleaseRequest;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two replicas on one database: allocation never collides, and every watch sees every change. */
class ReplicatedControllersTest {

    TestPostgres.Database db;
    ControllerReplica a;
    ControllerReplica b;

    @BeforeEach
    void start() {
        db = TestPostgres.newDatabase();
        a = ControllerReplica.start(db);
        b = ControllerReplica.start(db);
    }

    @AfterEach
    void stop() {
        if (a != null) {
            a.close();
        }
        b.close();
    }

    @Test
    void allSubnetsHandedOutConcurrentlyThroughTwoReplicasAreDistinct() throws Exception {
        List<LeaseServiceBlockingStub> stubs = List.of(a.operatorStub(), b.operatorStub());
        ExecutorService pool = Executors.newFixedThreadPool(32);
        List<Future<Lease>> futures = new ArrayList<>();
        for (int i = 0; i < 255; i++) {
            String cell = "10.1." + (i / 200) + "." + (i % 200 + 1);
            LeaseServiceBlockingStub stub = stubs.get(i % 2);
            futures.add(pool.submit(() -> stub.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease()));
        }
        Set<String> subnets = new HashSet<>();
        for (Future<Lease> f : futures) {
            subnets.add(f.get().getOverlaySubnet());
        }
        pool.shutdown();
        assertThat(subnets).hasSize(255).allMatch(s -> s.matches("10\\.255\\.\\d+\\.0/24")).doesNotContain("10.255.0.0/24");

        // The 256th cell finds the pool exhausted, on either replica.
        for (LeaseServiceBlockingStub stub : stubs) {
            try {
                stub.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.1.9.9").build());
                throw new AssertionError("acquire succeeded on an exhausted pool");
            } catch (StatusRuntimeException e) {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(e.getStatus().getDescription()).contains("acquire lease for cell 10.1.9.9", "exhausted");
            }
        }
        try (var c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*), count(DISTINCT subnet) FROM lease")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(255);
            assertThat(rs.getInt(2)).isEqualTo(255);
        }
    }

    @Test
    void aWatchOnOneReplicaSeesWritesMadeOnTheOther() throws Exception {
        WatchClient watcher = new WatchClient();
        watcher.watch(b.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        watcher.awaitRoutable(m -> true, Duration.ofSeconds(5));
        // One stub, its channel's TLS handshake done before anything is timed.
        var onA = a.operatorStub();
        onA.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.2.2.1").build());
        watcher.awaitRoutable(m -> m.containsKey("10.2.2.1"), Duration.ofSeconds(5));
        long before = System.nanoTime();
        Lease lease = onA.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.2.0.1").build()).getLease();
        watcher.awaitRoutable(m -> m.containsKey("10.2.0.1"), Duration.ofSeconds(2));
        long millis = (System.nanoTime() - before) / 1_000_000;
        assertThat(watcher.routable().get("10.2.0.1").getOverlaySubnet()).isEqualTo(lease.getOverlaySubnet());
        assertThat(millis).as("push, not a poll interval").isLessThan(1000);

        // Each of several writes arrives well inside the feeds' 1 s fallback read: the writer's
        // post-commit NOTIFY (the lease ChangeSignal) woke the other replica. Without it, five in a row
        // under 400 ms would be luck (about 1 in 100).
        for (int i = 1; i <= 5; i++) {
            String cell = "10.2.1." + i;
            long t0 = System.nanoTime();
            onA.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
            watcher.awaitRoutable(m -> m.containsKey(cell), Duration.ofSeconds(2));
            assertThat((System.nanoTime() - t0) / 1_000_000).as("ms for write %d to reach the other replica", i).isLessThan(400);
            Thread.sleep(ThreadLocalRandom.current().nextInt(50, 300));
        }

        a.operatorStub().release(ReleaseRequest.newBuilder().setUnderlayIp("10.2.0.1").build());
        watcher.awaitRoutable(m -> !m.containsKey("10.2.0.1"), Duration.ofSeconds(2));
        assertThat(watcher.applied()).filteredOn(e -> e.getLease().getUnderlayIp().equals("10.2.0.1"))
                .extracting(LeaseEvent::getKind).containsExactly(LeaseEvent.Kind.UPSERTED, LeaseEvent.Kind.DELETED);
        watcher.cancel();
    }

    @Test
    void watchResumesFromARevisionWithoutLossOrDuplication() throws Exception {
        var stubA = a.operatorStub();
        WatchClient watcher = new WatchClient();
        watcher.watch(a.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        for (int i = 1; i <= 5; i++) {
            stubA.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.3.0." + i).build());
        }
        watcher.awaitRoutable(m -> m.size() == 5, Duration.ofSeconds(5));
        watcher.cancel();
        long resumeFrom = watcher.revision();

        // Changes while the client is away.
        for (int i = 6; i <= 10; i++) {
            stubA.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.3.0." + i).build());
        }
        stubA.release(ReleaseRequest.newBuilder().setUnderlayIp("10.3.0.1").build());

        // Resume on the other replica from the last revision seen.
        int responsesBefore = watcher.responses().size();
        watcher.watch(b.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        watcher.awaitRoutable(m -> m.size() == 9 && !m.containsKey("10.3.0.1"), Duration.ofSeconds(5));
        var resumed = watcher.responses().subList(responsesBefore, watcher.responses().size());
        assertThat(resumed).as("no snapshot on resume").noneMatch(r -> r.getReset());
        List<Long> revisions = watcher.applied().stream().map(LeaseEvent::getRevision).toList();
        assertThat(revisions).doesNotHaveDuplicates().isSorted();
        assertThat(revisions.stream().filter(r -> r > resumeFrom).count()).isEqualTo(6);
        watcher.cancel();
    }

    @Test
    void aKilledReplicaDoesNotLoseChangesForAWatcherThatMovesToTheOther() throws Exception {
        WatchClient watcher = new WatchClient();
        watcher.watch(a.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        var stubB = b.operatorStub();
        stubB.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.4.0.1").build());
        watcher.awaitRoutable(m -> m.containsKey("10.4.0.1"), Duration.ofSeconds(5));

        a.close();
        a = null;
        Status end = watcher.awaitEnd(Duration.ofSeconds(5));
        assertThat(end.isOk()).isFalse();

        // Writes go on through the surviving replica while the client reconnects.
        stubB.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.4.0.2").build());
        stubB.release(ReleaseRequest.newBuilder().setUnderlayIp("10.4.0.1").build());
        watcher.watch(b.channel(TestPki.operator()));
        watcher.awaitEstablished(Duration.ofSeconds(10));
        watcher.awaitRoutable(m -> m.containsKey("10.4.0.2") && !m.containsKey("10.4.0.1"), Duration.ofSeconds(5));
        assertThat(watcher.applied()).extracting(e -> e.getKind() + " " + e.getLease().getUnderlayIp())
                .containsExactly("UPSERTED 10.4.0.1", "UPSERTED 10.4.0.2", "DELETED 10.4.0.1");
        watcher.cancel();
    }
}
