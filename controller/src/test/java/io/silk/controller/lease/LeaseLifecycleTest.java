package io.silk.controller.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.testing.TestPostgres;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.RenewRequest;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Acquire, renew, release and bad input, through one replica over gRPC with mTLS. */
class LeaseLifecycleTest {

    static TestPostgres.Database db;
    static ControllerReplica replica;
    static LeaseServiceBlockingStub leases;

    @BeforeAll
    static void start() {
        db = TestPostgres.newDatabase();
        replica = ControllerReplica.start(db);
        leases = replica.operatorStub();
    }

    @AfterAll
    static void stop() {
        replica.close();
    }

    static Lease acquire(String cell) {
        return leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease();
    }

    static StatusRuntimeException failure(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("the call succeeded");
    }

    @Test
    void acquireTwiceReturnsTheSameLease() {
        Lease first = acquire("10.0.1.1");
        Lease second = acquire("10.0.1.1");
        assertThat(second.getOverlaySubnet()).isEqualTo(first.getOverlaySubnet());
        assertThat(second.getOverlayHardwareAddr()).isEqualTo(first.getOverlayHardwareAddr());
        assertThat(first.getOverlaySubnet()).matches("10\\.255\\.\\d+\\.0/24").isNotEqualTo("10.255.0.0/24");
        assertThat(acquire("10.0.1.2").getOverlaySubnet()).isNotEqualTo(first.getOverlaySubnet());
    }

    @Test
    void vtepMacIsDerivedFromTheSubnetBase() {
        Lease lease = acquire("10.0.2.1");
        String[] octets = lease.getOverlaySubnet().split("/")[0].split("\\.");
        String expected = String.format("ee:ee:%02x:%02x:%02x:%02x", Integer.parseInt(octets[0]),
                Integer.parseInt(octets[1]), Integer.parseInt(octets[2]), Integer.parseInt(octets[3]));
        assertThat(lease.getOverlayHardwareAddr()).isEqualTo(expected);
    }

    @Test
    void renewKeepsTheLeaseAndExtendsIt() throws Exception {
        Lease lease = acquire("10.0.3.1");
        Thread.sleep(20);
        Lease renewed = leases.renew(RenewRequest.newBuilder().setLease(lease).build()).getLease();
        assertThat(renewed.getOverlaySubnet()).isEqualTo(lease.getOverlaySubnet());
        assertThat(renewed.getExpiresAt().getSeconds() * 1_000_000_000L + renewed.getExpiresAt().getNanos())
                .isGreaterThan(lease.getExpiresAt().getSeconds() * 1_000_000_000L + lease.getExpiresAt().getNanos());
    }

    @Test
    void renewWithAnotherSubnetIsAMismatch() {
        Lease lease = acquire("10.0.4.1");
        Lease other = acquire("10.0.4.2");
        var e = failure(() -> leases.renew(RenewRequest.newBuilder().setLease(lease.toBuilder()
                .setOverlaySubnet(other.getOverlaySubnet()).setOverlayHardwareAddr(other.getOverlayHardwareAddr()))
                .build()));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(e.getStatus().getDescription()).contains("renew lease for cell 10.0.4.1", "lease mismatch",
                lease.getOverlaySubnet());
        // Nothing changed.
        assertThat(acquire("10.0.4.1").getOverlaySubnet()).isEqualTo(lease.getOverlaySubnet());
    }

    @Test
    void renewOfAnUnknownLeaseAdoptsItWhenTheSubnetIsFree() throws Exception {
        Lease adopted = leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                .setUnderlayIp("10.0.5.1").setOverlaySubnet("10.255.200.0/24")
                .setOverlayHardwareAddr("ee:ee:0a:ff:c8:00")).build()).getLease();
        assertThat(adopted.getOverlaySubnet()).isEqualTo("10.255.200.0/24");
        assertThat(acquire("10.0.5.1").getOverlaySubnet()).isEqualTo("10.255.200.0/24");
        try (var c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM free_subnet WHERE subnet = '10.255.200.0/24'")) {
            rs.next();
            assertThat(rs.getInt(1)).as("adopted subnet left the free list").isZero();
        }
        // Another cell cannot adopt a subnet that is held.
        var e = failure(() -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                .setUnderlayIp("10.0.5.2").setOverlaySubnet("10.255.200.0/24")).build()));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(e.getStatus().getDescription()).contains("another cell");
    }

    @Test
    void releaseIsIdempotentAndFreesTheSubnet() {
        Lease lease = acquire("10.0.6.1");
        assertThat(leases.release(ReleaseRequest.newBuilder().setUnderlayIp("10.0.6.1").build()).getReleased()).isTrue();
        assertThat(leases.release(ReleaseRequest.newBuilder().setUnderlayIp("10.0.6.1").build()).getReleased()).isFalse();
        assertThat(leases.release(ReleaseRequest.newBuilder().setUnderlayIp("10.0.99.99").build()).getReleased()).isFalse();
        assertThat(leases.list(ListRequest.getDefaultInstance()).getLeasesList())
                .extracting(Lease::getUnderlayIp).doesNotContain("10.0.6.1");
        // Released subnets go back to the pool, after the never-used ones.
        try (var c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT free_since > '-infinity' FROM free_subnet WHERE subnet = '"
                     + lease.getOverlaySubnet() + "'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(1)).isTrue();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void listShowsAcquiredLeasesPromptly() throws Exception {
        Lease lease = acquire("10.0.7.1");
        long deadline = System.currentTimeMillis() + 2000;
        while (System.currentTimeMillis() < deadline) {
            var list = leases.list(ListRequest.getDefaultInstance());
            if (list.getLeasesList().stream().anyMatch(l -> l.getUnderlayIp().equals("10.0.7.1"))) {
                assertThat(list.getOverlayNetwork()).isEqualTo("10.255.0.0/16");
                assertThat(list.getRevision()).isGreaterThanOrEqualTo(lease.getRevision());
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("lease never appeared in List");
    }

    @Test
    void badInputGetsInvalidArgumentWithAMessage() {
        record Case(Runnable call, String message) {}
        var cases = new Case[] {
            new Case(() -> acquire("10.0.0"), "not an IPv4 address"),
            new Case(() -> acquire("10.0.0.256"), "above 255"),
            new Case(() -> acquire("fe80::1"), "not an IPv4 address"),
            new Case(() -> acquire(""), "underlay_ip is required"),
            new Case(() -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                    .setUnderlayIp("10.0.8.1").setOverlaySubnet("10.255.3.7/24")).build()), "host bits set"),
            new Case(() -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                    .setUnderlayIp("10.0.8.1").setOverlaySubnet("10.255.3.0")).build()), "CIDR"),
            new Case(() -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                    .setUnderlayIp("10.0.8.1").setOverlaySubnet("10.255.3.0/24")
                    .setOverlayHardwareAddr("ee:ee:00:00:00:01")).build()), "expected ee:ee:0a:ff:03:00"),
            new Case(() -> leases.renew(RenewRequest.getDefaultInstance()), "no lease"),
            new Case(() -> leases.release(ReleaseRequest.newBuilder().setUnderlayIp("nonsense").build()), "not an IPv4"),
        };
        for (Case c : cases) {
            var e = failure(c.call());
            assertThat(e.getStatus().getCode()).as(c.message()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains(c.message());
        }
        assertThatThrownBy(() -> acquire("10.0.0.1.2")).isInstanceOf(StatusRuntimeException.class);
    }

    @Test
    void hugeBadInputIsQuotedShortenedSoTheErrorFitsInDefaultClientMetadata() {
        String huge = "1".repeat(10_240);
        for (Runnable call : new Runnable[] {
            () -> acquire(huge),
            () -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder().setUnderlayIp("10.0.9.1")
                    .setOverlaySubnet(huge)).build()),
            () -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder().setUnderlayIp("10.0.9.1")
                    .setOverlaySubnet("10.255.9.0/24").setOverlayHardwareAddr(huge)).build()),
        }) {
            var e = failure(call);
            // A default client refuses metadata over 8 KiB and would report RESOURCE_EXHAUSTED instead.
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).hasSizeLessThan(300).contains("(10240 chars)");
        }
    }

    @Test
    void renewOfAnUnknownLeaseAdoptsOnlyWhatThePoolOffers() {
        for (String subnet : new String[] {"192.168.7.0/24", "10.255.0.0/24", "10.255.201.0/28", "10.255.1.0/28", "10.255.0.0/16"}) {
            var e = failure(() -> leases.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                    .setUnderlayIp("10.0.10.1").setOverlaySubnet(subnet)).build()));
            assertThat(e.getStatus().getCode()).as(subnet).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(e.getStatus().getDescription()).as(subnet).contains("not a subnet the pool offers", "10.255.0.0/16 in /24");
        }
        assertThat(leases.list(ListRequest.getDefaultInstance()).getLeasesList())
                .extracting(Lease::getUnderlayIp).doesNotContain("10.0.10.1");
        // Nothing adopted blocks the pool: the next acquires work.
        assertThat(acquire("10.0.10.1").getOverlaySubnet()).matches("10\\.255\\.\\d+\\.0/24");
        assertThat(acquire("10.0.10.2").getOverlaySubnet()).matches("10\\.255\\.\\d+\\.0/24");
    }

    @Test
    void theVtepMacRuleInSqlAgreesWithTheOneInJava() throws Exception {
        try (var c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT n::text, vtep_mac(n)::text FROM (VALUES ('10.255.17.0/24'::cidr),"
                     + " ('0.0.0.0/8'), ('255.255.255.0/24'), ('192.168.0.16/28'), ('10.0.0.0/8'), ('172.16.254.64/26')) v(n)")) {
            int rows = 0;
            while (rs.next()) {
                var subnet = io.silk.values.Ipv4Network.parse(rs.getString(1), "subnet");
                assertThat(rs.getString(2)).as(rs.getString(1)).isEqualTo(io.silk.values.SilkMacs.vtep(subnet).toString());
                rows++;
            }
            assertThat(rows).isEqualTo(6);
        }
        assertThat(acquire("10.0.11.1").getOverlayHardwareAddr()).isEqualTo(io.silk.values.SilkMacs.vtep(
                io.silk.values.Ipv4Network.parse(acquire("10.0.11.1").getOverlaySubnet(), "s")).toString());
    }
}
