package io.silk.controller.lease;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.Eventually;
import io.silk.testing.TestPostgres;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.RenewRequest;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PoolExpiryAndNetworkChangeTest {

    static Lease acquire(LeaseServiceBlockingStub stub, String cell) {
        return stub.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease();
    }

    static Status.Code code(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    @Test
    void exhaustedPoolReusesFreeSubnetsFirstThenTheOldestExpired() throws Exception {
        // 10.9.0.0/22 in /24s: three subnets (subnet 0 is never leased).
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase(),
                "silk.controller.lease.network=10.9.0.0/22", "silk.controller.lease.ttl=4s",
                "silk.controller.lease.expiry-sweep-interval=100ms")) {
            var stub = replica.operatorStub();
            WatchClient watcher = new WatchClient();
            watcher.watch(replica.channel(TestPki.operator()));
            watcher.awaitEstablished(Duration.ofSeconds(10));

            Lease a = acquire(stub, "10.0.0.1");
            Thread.sleep(300);
            Lease b = acquire(stub, "10.0.0.2");
            Thread.sleep(300);
            Lease c = acquire(stub, "10.0.0.3");
            // Within a's 4 s TTL (three acquires and 600 ms of sleeps): nothing has expired yet.
            assertThat(code(() -> acquire(stub, "10.0.0.4"))).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

            // Expiry is an event, once per lease; expired leases stop being routable but keep their subnet.
            watcher.awaitRoutable(java.util.Map::isEmpty, Duration.ofSeconds(15));
            assertThat(watcher.applied().stream().filter(e -> e.getKind() == LeaseEvent.Kind.EXPIRED)
                    .map(e -> e.getLease().getUnderlayIp())).containsExactly("10.0.0.1", "10.0.0.2", "10.0.0.3");

            // A released subnet is free, and free goes before expired.
            stub.release(ReleaseRequest.newBuilder().setUnderlayIp("10.0.0.3").build());
            assertThat(acquire(stub, "10.0.0.4").getOverlaySubnet()).isEqualTo(c.getOverlaySubnet());
            // Then the oldest expired lease is reclaimed.
            assertThat(acquire(stub, "10.0.0.5").getOverlaySubnet()).isEqualTo(a.getOverlaySubnet());

            // The reclaimed cell cannot renew its old subnet: another cell holds it now.
            assertThat(code(() -> stub.renew(RenewRequest.newBuilder().setLease(a).build())))
                    .isEqualTo(Status.Code.FAILED_PRECONDITION);
            // An expired lease that was not reclaimed comes back on renew, and is routable again.
            Lease revived = stub.renew(RenewRequest.newBuilder().setLease(b).build()).getLease();
            assertThat(revived.getOverlaySubnet()).isEqualTo(b.getOverlaySubnet());
            watcher.awaitRoutable(m -> m.containsKey("10.0.0.2"), Duration.ofSeconds(2));
            watcher.cancel();
        }
    }

    @Test
    void aLeaseKeptAliveByRenewsStaysInSnapshotsPastItsFirstExpiry() throws Exception {
        // A renew of a live lease writes no event, so the replica's view keeps the expiry of the
        // last event: snapshots must not judge routability by it (regression: renewed leases
        // vanished from new watches' snapshots once their first TTL had passed).
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase(),
                "silk.controller.lease.ttl=2s", "silk.controller.lease.expiry-sweep-interval=100ms")) {
            var stub = replica.operatorStub();
            Lease lease = acquire(stub, "10.0.0.1");
            for (int i = 0; i < 6; i++) {
                Thread.sleep(500);
                lease = stub.renew(RenewRequest.newBuilder().setLease(lease).build()).getLease();
            }
            WatchClient fresh = new WatchClient();
            fresh.watch(replica.channel(TestPki.operator()));
            fresh.awaitEstablished(Duration.ofSeconds(10));
            fresh.awaitRoutable(m -> m.containsKey("10.0.0.1"), Duration.ofSeconds(2));
            fresh.cancel();
            assertThat(stub.list(io.silk.proto.v1.ListRequest.getDefaultInstance()).getLeasesList())
                    .extracting(Lease::getUnderlayIp).containsExactly("10.0.0.1");
        }
    }

    @Test
    void aChangedNetworkMovesCellsOnAcquireAndKeepsOldLeasesRenewable() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        Lease old;
        try (var replica = ControllerReplica.start(db)) {
            old = acquire(replica.operatorStub(), "10.0.0.1");
            assertThat(old.getOverlaySubnet()).startsWith("10.255.");
        }
        try (var replica = ControllerReplica.start(db, "silk.controller.lease.network=10.254.0.0/16")) {
            var stub = replica.operatorStub();
            Lease renewed = stub.renew(RenewRequest.newBuilder().setLease(old).build()).getLease();
            assertThat(renewed.getOverlaySubnet()).isEqualTo(old.getOverlaySubnet());

            Lease moved = acquire(stub, "10.0.0.1");
            assertThat(moved.getOverlaySubnet()).startsWith("10.254.");
            assertThat(acquire(stub, "10.0.0.2").getOverlaySubnet()).startsWith("10.254.");
            try (var c = db.connect(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE subnet <<= '10.254.0.0/16'),"
                         + " count(*) FROM free_subnet")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(rs.getInt(2)).isEqualTo(253);
            }
        }
    }

    @Test
    void expiryHappensOnceAcrossReplicas() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        String[] fast = {"silk.controller.lease.ttl=1s", "silk.controller.lease.expiry-sweep-interval=20ms"};
        try (var a = ControllerReplica.start(db, fast); var b = ControllerReplica.start(db, fast)) {
            for (int i = 1; i <= 20; i++) {
                acquire(i % 2 == 0 ? a.operatorStub() : b.operatorStub(), "10.0.3." + i);
            }
            Eventually.await("all 20 leases expired", Duration.ofSeconds(15), () -> expiredEvents(db)[0] == 20);
            // Both replicas sweep every 20 ms: a second event for a lease would come within a sweep or two.
            Thread.sleep(500);
            int[] expired = expiredEvents(db);
            assertThat(expired[0]).isEqualTo(20);
            assertThat(expired[1]).as("one EXPIRED event per lease, though both replicas sweep").isEqualTo(20);
        }
    }

    /** Leases with an EXPIRED event, and EXPIRED events in all. */
    private static int[] expiredEvents(TestPostgres.Database db) {
        try (var c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(DISTINCT underlay_ip), count(*) FROM lease_event WHERE kind = 'EXPIRED'")) {
            rs.next();
            return new int[] {rs.getInt(1), rs.getInt(2)};
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
