package io.silk.daemon.controller;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.lease.HeldLease;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.RenewRequest;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import javax.net.ssl.SSLException;

/**
 * The controller over gRPC: each call has a time limit (the gRPC deadline), goes to the replica
 * that last answered and fails over to the others; Resilience4j retries with exponential backoff
 * and a circuit breaker stops hammering an unreachable control plane.
 */
public final class GrpcController implements Controller {

    /** Retry and circuit-breaker settings. */
    public record Resilience(int attempts, Duration firstBackoff, Duration openFor) {
        public static final Resilience DEFAULT = new Resilience(4, Duration.ofMillis(200), Duration.ofSeconds(10));
    }

    private final List<ManagedChannel> channels;
    private final List<String> addresses;
    private final Duration callTimeout;
    private final Retry retry;
    private final CircuitBreaker breaker;
    private volatile int preferred;

    public GrpcController(List<String> addresses, List<ManagedChannel> channels, Duration callTimeout, Resilience resilience) {
        if (addresses.isEmpty() || addresses.size() != channels.size()) {
            throw new IllegalArgumentException("controller.addresses is empty");
        }
        this.addresses = List.copyOf(addresses);
        this.channels = List.copyOf(channels);
        this.callTimeout = callTimeout;
        this.retry = Retry.of("controller", RetryConfig.custom()
                .maxAttempts(resilience.attempts())
                .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(resilience.firstBackoff(), 2.0, 0.5))
                .retryOnException(GrpcController::retriable)
                .build());
        this.breaker = CircuitBreaker.of("controller", CircuitBreakerConfig.custom()
                .slidingWindowSize(10)
                .minimumNumberOfCalls(5)
                .failureRateThreshold(80)
                .waitDurationInOpenState(resilience.openFor())
                .recordException(GrpcController::retriable)
                .build());
    }

    /** The replicas the configuration names, over mTLS, or plaintext only where configured so. */
    public static GrpcController connect(DaemonConfig config) {
        List<ManagedChannel> channels = new ArrayList<>();
        for (String address : config.controllers()) {
            channels.add(channel(address, config));
        }
        return new GrpcController(config.controllers(), channels, config.callTimeout(), Resilience.DEFAULT);
    }

    /** Plaintext channels to these replicas (a controller run with TLS off, or a test's). */
    public static GrpcController plaintext(List<String> addresses, Duration callTimeout, Resilience resilience) {
        return new GrpcController(addresses, addresses.stream().map(a -> builder(a).usePlaintext().build()).toList(),
                callTimeout, resilience);
    }

    private static NettyChannelBuilder builder(String address) {
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("controller address \"" + address + "\" must be host:port");
        }
        return NettyChannelBuilder.forAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)))
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true);
    }

    private static ManagedChannel channel(String address, DaemonConfig config) {
        var builder = builder(address);
        if (config.plaintext()) {
            return builder.usePlaintext().build();
        }
        try {
            return builder.sslContext(GrpcSslContexts.forClient().trustManager(config.ca().toFile())
                    .keyManager(config.certificate().toFile(), config.privateKey().toFile()).build()).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS material for the controller (" + config.ca() + ", "
                    + config.certificate() + ", " + config.privateKey() + "): " + e.getMessage(), e);
        }
    }

    /** Errors worth another try: the controller or its database is away for now. */
    public static boolean retriable(Throwable t) {
        if (t instanceof StatusRuntimeException s) {
            Status.Code c = s.getStatus().getCode();
            return c == Status.Code.UNAVAILABLE || c == Status.Code.DEADLINE_EXCEEDED || c == Status.Code.ABORTED;
        }
        return false;
    }

    @Override
    public Granted acquire(Ipv4Address underlayIp) {
        var r = call(s -> s.acquire(AcquireRequest.newBuilder().setUnderlayIp(underlayIp.toString()).build()));
        return new Granted(held(r.getLease(), r.getOverlayNetwork()), r.getDatabaseId());
    }

    @Override
    public Granted renew(HeldLease held, String databaseId) {
        var r = call(s -> s.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder().setUnderlayIp(held.underlayIp().toString())
                .setOverlaySubnet(held.subnet().toString()).setOverlayHardwareAddr(held.vtepMac().toString()))
                .setDatabaseId(databaseId == null ? "" : databaseId).build()));
        return new Granted(held(r.getLease(), r.getOverlayNetwork()), r.getDatabaseId());
    }

    @Override
    public boolean release(Ipv4Address underlayIp) {
        return call(s -> s.release(ReleaseRequest.newBuilder().setUnderlayIp(underlayIp.toString()).build())).getReleased();
    }

    @Override
    public List<HeldLease> list() {
        var r = call(s -> s.list(ListRequest.getDefaultInstance()));
        return r.getLeasesList().stream().map(l -> held(l, r.getOverlayNetwork())).toList();
    }

    /** A lease from the controller, parsed here once; a value that does not parse is refused, naming its field. */
    static HeldLease held(Lease l, String network) {
        try {
            return Leases.held(l, network);
        } catch (BadValue e) {
            throw new ControllerException(ControllerException.Kind.REFUSED, "the controller sent a bad lease: " + e.getMessage(), e);
        }
    }

    /** One unary call, with failover, retries and the circuit breaker; failures in the daemon's terms. */
    private <T> T call(Function<LeaseServiceGrpc.LeaseServiceBlockingStub, T> rpc) {
        try {
            return Retry.decorateSupplier(retry, CircuitBreaker.decorateSupplier(breaker, () -> acrossReplicas(rpc))).get();
        } catch (CallNotPermittedException e) {
            throw new ControllerException(ControllerException.Kind.UNREACHABLE,
                    "the controller is unreachable (circuit open after repeated failures)", e);
        } catch (StatusRuntimeException e) {
            Status s = e.getStatus();
            String text = s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
            ControllerException.Kind kind = retriable(e) ? ControllerException.Kind.UNREACHABLE
                    : s.getCode() == Status.Code.FAILED_PRECONDITION ? ControllerException.Kind.LOST
                    : ControllerException.Kind.REFUSED;
            throw new ControllerException(kind, text, e);
        }
    }

    private <T> T acrossReplicas(Function<LeaseServiceGrpc.LeaseServiceBlockingStub, T> rpc) {
        StatusRuntimeException last = null;
        int start = preferred;
        for (int i = 0; i < channels.size(); i++) {
            int idx = (start + i) % channels.size();
            try {
                T result = rpc.apply(LeaseServiceGrpc.newBlockingStub(reconnecting(channels.get(idx)))
                        .withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS));
                preferred = idx;
                return result;
            } catch (StatusRuntimeException e) {
                if (!retriable(e)) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    @Override
    public Stream watchLeases(int attempt, WatchRequest request, Listener<WatchResponse> listener) {
        return open(listener, observer -> LeaseServiceGrpc.newStub(reconnecting(channel(attempt))).watch(request, observer));
    }

    @Override
    public Stream watchPolicies(int attempt, PolicyWatchRequest request, Listener<PolicyWatchResponse> listener) {
        return open(listener, observer -> PolicyServiceGrpc.newStub(reconnecting(channel(attempt))).watch(request, observer));
    }

    /**
     * The channel, told to connect now if it is waiting out its own reconnect backoff. gRPC's
     * backoff grows to two minutes while a controller is away, and until it expires every call
     * fails without trying: a cell would stay cut off long after the controller is back. The
     * daemon's retries and watch loop already back off (at most a few seconds); they decide when
     * to try again.
     */
    private static ManagedChannel reconnecting(ManagedChannel channel) {
        if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            channel.resetConnectBackoff();
        }
        return channel;
    }

    private interface Opener<Q, M> {
        void start(ClientResponseObserver<Q, M> observer);
    }

    private static <Q, M> Stream open(Listener<M> listener, Opener<Q, M> opener) {
        AtomicReference<ClientCallStreamObserver<Q>> call = new AtomicReference<>();
        opener.start(new ClientResponseObserver<Q, M>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<Q> s) {
                call.set(s);
            }

            @Override
            public void onNext(M m) {
                listener.onMessage(m);
            }

            @Override
            public void onError(Throwable t) {
                listener.onEnd(t);
            }

            @Override
            public void onCompleted() {
                listener.onEnd(null);
            }
        });
        return why -> call.get().cancel(why, null);
    }

    private ManagedChannel channel(int attempt) {
        return channels.get((preferred + attempt) % channels.size());
    }

    @Override
    public String address(int attempt) {
        return addresses.get((preferred + attempt) % addresses.size());
    }

    public CircuitBreaker.State breakerState() {
        return breaker.getState();
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
    }
}
