package io.silk.e2e.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ReleaseRequest;
import java.io.File;
import java.time.Instant;

/**
 * Runs inside the controller's namespace for {@link CniAndPropagationBenchmark}: acquires leases
 * for made-up cells one at a time, printing each subnet and the instant the controller confirmed
 * it, then releases them all.
 */
public final class RouteLatencyDriver {
    public static void main(String[] args) throws Exception {
        File pki = new File(args[0]);
        int n = Integer.parseInt(args[1]);
        long gapMillis = Long.parseLong(args[2]);
        ManagedChannel ch = NettyChannelBuilder.forAddress(args[3], 7443)
                .sslContext(GrpcSslContexts.forClient().trustManager(new File(pki, "ca.pem"))
                        .keyManager(new File(pki, "operator.pem"), new File(pki, "operator-key.pem")).build())
                .build();
        var stub = LeaseServiceGrpc.newBlockingStub(ch);
        stub.list(io.silk.proto.v1.ListRequest.getDefaultInstance()); // warm the connection
        for (int i = 0; i < n; i++) {
            String cell = "10.88." + (i / 250) + "." + (i % 250 + 1);
            var lease = stub.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease();
            Instant acked = Instant.now();
            System.out.println("ACQ " + lease.getOverlaySubnet() + " " + acked);
            System.out.flush();
            Thread.sleep(gapMillis);
        }
        for (int i = 0; i < n; i++) {
            stub.release(ReleaseRequest.newBuilder().setUnderlayIp("10.88." + (i / 250) + "." + (i % 250 + 1)).build());
        }
        System.out.println("DONE");
        ch.shutdownNow();
    }
}
