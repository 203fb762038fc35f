package io.silk.controller.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.TestPostgres;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.RenewRequest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client certificate decides who may do what. */
class MutualTlsTest {

    static ControllerReplica replica;

    @BeforeAll
    static void start() {
        replica = ControllerReplica.start(TestPostgres.newDatabase());
    }

    @AfterAll
    static void stop() {
        replica.close();
    }

    static LeaseServiceBlockingStub as(TestPki.Identity identity) {
        return LeaseServiceGrpc.newBlockingStub(replica.channel(identity)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    static StatusRuntimeException refused(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("the call was allowed");
    }

    @Test
    void aCellActsOnItsOwnLeaseOnly() {
        var cell = as(TestPki.cell("10.6.0.1"));
        Lease own = cell.acquire(AcquireRequest.getDefaultInstance()).getLease();
        assertThat(own.getUnderlayIp()).isEqualTo("10.6.0.1");
        assertThat(cell.renew(RenewRequest.newBuilder().setLease(own).build()).getLease().getOverlaySubnet())
                .isEqualTo(own.getOverlaySubnet());
        assertThat(cell.list(ListRequest.getDefaultInstance()).getLeasesList()).isNotEmpty();

        Lease other = as(TestPki.operator()).acquire(AcquireRequest.newBuilder().setUnderlayIp("10.6.0.2").build()).getLease();
        for (Runnable call : new Runnable[] {
            () -> cell.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.6.0.2").build()),
            () -> cell.renew(RenewRequest.newBuilder().setLease(other).build()),
            () -> cell.release(ReleaseRequest.newBuilder().setUnderlayIp("10.6.0.2").build()),
        }) {
            var e = refused(call);
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).contains("names cell 10.6.0.1", "10.6.0.2");
        }
        // The other cell's lease is untouched.
        assertThat(as(TestPki.operator()).list(ListRequest.getDefaultInstance()).getLeasesList())
                .extracting(Lease::getUnderlayIp).contains("10.6.0.2");
        assertThat(cell.release(ReleaseRequest.getDefaultInstance()).getReleased()).isTrue();
    }

    @Test
    void anOperatorMayListAndReleaseAnyLease() {
        as(TestPki.cell("10.6.1.1")).acquire(AcquireRequest.getDefaultInstance());
        var operator = as(TestPki.operator());
        assertThat(operator.list(ListRequest.getDefaultInstance()).getLeasesList())
                .extracting(Lease::getUnderlayIp).contains("10.6.1.1");
        assertThat(operator.release(ReleaseRequest.newBuilder().setUnderlayIp("10.6.1.1").build()).getReleased()).isTrue();
    }

    @Test
    void noClientCertificateIsUnauthenticated() {
        var anonymous = as(null);
        for (Runnable call : new Runnable[] {
            () -> anonymous.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.6.2.1").build()),
            () -> anonymous.list(ListRequest.getDefaultInstance()),
            () -> anonymous.watch(io.silk.proto.v1.WatchRequest.getDefaultInstance()).hasNext(),
        }) {
            var e = refused(call);
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains("client certificate is required");
        }
    }

    @Test
    void plaintextClientsCannotTalkToATlsServer() {
        ManagedChannel plain = NettyChannelBuilder.forAddress("localhost", replica.grpcPort()).usePlaintext().build();
        try {
            var e = refused(() -> LeaseServiceGrpc.newBlockingStub(plain).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .list(ListRequest.getDefaultInstance()));
            assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.INTERNAL);
        } finally {
            plain.shutdownNow();
        }
    }

    @Test
    void plaintextOnlyWhenExplicitlyConfiguredAndThenEveryCallerIsTrusted() {
        // No certificate files at all: with TLS off none are needed.
        try (var dev = ControllerReplica.start(TestPostgres.newDatabase(), "silk.controller.tls.enabled=false",
                "silk.controller.tls.certificate=/nonexistent/server.pem", "silk.controller.tls.private-key=/nonexistent/key.pem",
                "silk.controller.tls.trust=/nonexistent/ca.pem")) {
            ManagedChannel plain = NettyChannelBuilder.forAddress("localhost", dev.grpcPort()).usePlaintext().build();
            try {
                var stub = LeaseServiceGrpc.newBlockingStub(plain).withDeadlineAfter(10, TimeUnit.SECONDS);
                Lease lease = stub.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.6.3.1").build()).getLease();
                assertThat(stub.release(ReleaseRequest.newBuilder().setUnderlayIp(lease.getUnderlayIp()).build())
                        .getReleased()).isTrue();
            } finally {
                plain.shutdownNow();
            }
        }
    }
}
