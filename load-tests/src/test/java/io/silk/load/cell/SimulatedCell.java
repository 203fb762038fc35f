package io.silk.load.cell;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.silk.load.grpc.Timings;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.RenewRequest;
import io.silk.proto.v1.WatchRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * One simulated cell daemon: its own TLS connection to the controller, its lease, and a lease
 * watch, as the real daemon holds them. A restart drops the connection and the watch and comes
 * back as a restarted daemon does: a new connection, a renew of the lease it kept, a watch from
 * revision 0 (a full snapshot).
 */
public final class SimulatedCell {

    private final String underlayIp;
    private final Supplier<ManagedChannel> connect;
    private volatile ManagedChannel channel;
    private volatile Lease lease;
    private volatile ClientCallStreamObserver<WatchRequest> watch;

    public SimulatedCell(String underlayIp, Supplier<ManagedChannel> connect) {
        this.underlayIp = underlayIp;
        this.connect = connect;
    }

    /** The cell a Gatling virtual user plays, kept in its session under "cell". */
    public static SimulatedCell of(io.gatling.javaapi.core.Session session) {
        return session.get("cell");
    }

    public String underlayIp() {
        return underlayIp;
    }

    private LeaseServiceGrpc.LeaseServiceStub stub() {
        if (channel == null) {
            channel = connect.get();
        }
        return LeaseServiceGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    public CompletableFuture<Lease> acquire() {
        CompletableFuture<Lease> done = new CompletableFuture<>();
        stub().acquire(AcquireRequest.newBuilder().setUnderlayIp(underlayIp).build(),
                unary(done, r -> lease = r.getLease()));
        return done.thenApply(ignored -> lease);
    }

    public CompletableFuture<Boolean> release() {
        CompletableFuture<Lease> done = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        stub().release(io.silk.proto.v1.ReleaseRequest.newBuilder().setUnderlayIp(underlayIp).build(),
                unary(done, (io.silk.proto.v1.ReleaseResponse r) -> released.set(r.getReleased())));
        return done.thenApply(ignored -> {
            lease = null;
            return released.get();
        });
    }

    public CompletableFuture<Lease> renew() {
        if (lease == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("cell " + underlayIp + " holds no lease to renew"));
        }
        CompletableFuture<Lease> done = new CompletableFuture<>();
        stub().renew(RenewRequest.newBuilder().setLease(lease).build(), unary(done, r -> lease = r.getLease()));
        return done.thenApply(ignored -> lease);
    }

    /**
     * Opens the lease watch. The future completes with the first message (the snapshot, or the
     * "you are current" message); every later message goes to {@code onMessage} with its arrival
     * time. A stream that breaks after that is reported through {@code timings} as "watch broken".
     */
    public CompletableFuture<WatchDigest> watch(long fromRevision, Timings timings, BiConsumer<WatchDigest, Long> onMessage) {
        CompletableFuture<WatchDigest> first = new CompletableFuture<>();
        stub(); // connects
        var call = channel.newCall(WatchDigest.WATCH, CallOptions.DEFAULT);
        long opened = System.currentTimeMillis();
        ClientCalls.asyncServerStreamingCall(call, WatchRequest.newBuilder().setFromRevision(fromRevision).build(),
                new ClientResponseObserver<WatchRequest, WatchDigest>() {
                    private ClientCallStreamObserver<WatchRequest> self;

                    @Override
                    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
                        self = requestStream;
                        watch = requestStream;
                    }

                    @Override
                    public void onNext(WatchDigest d) {
                        long now = System.currentTimeMillis();
                        if (!first.complete(d)) {
                            onMessage.accept(d, now);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        if (!first.completeExceptionally(t) && watch == self) {
                            timings.record("watch broken", opened, System.currentTimeMillis(), String.valueOf(t.getMessage()));
                        }
                    }

                    @Override
                    public void onCompleted() {
                        if (!first.completeExceptionally(new IllegalStateException("watch ended by the controller"))
                                && watch == self) {
                            timings.record("watch broken", opened, System.currentTimeMillis(), "ended by the controller");
                        }
                    }
                });
        return first;
    }

    /** Drops the watch and the connection, as a daemon that stops does. */
    public void disconnect() {
        ClientCallStreamObserver<WatchRequest> w = watch;
        watch = null;
        if (w != null) {
            w.cancel("cell restarting", null);
        }
        ManagedChannel c = channel;
        channel = null;
        if (c != null) {
            c.shutdownNow();
        }
    }

    private static <R> StreamObserver<R> unary(CompletableFuture<Lease> done, java.util.function.Consumer<R> onValue) {
        return new StreamObserver<>() {
            @Override
            public void onNext(R value) {
                onValue.accept(value);
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        };
    }
}
