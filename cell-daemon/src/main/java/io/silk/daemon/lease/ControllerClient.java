package io.silk.daemon.lease;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.silk.daemon.config.DaemonConfig;
import io.silk.proto.v1.LeaseServiceGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLException;

/**
 * Calls to the controller replicas: each call has a time limit (the gRPC deadline), goes to the
 * replica that last answered and fails over to the others; Resilience4j retries with exponential
 * backoff and a circuit breaker stops hammering an unreachable control plane.
 */
public final class ControllerClient implements AutoCloseable {

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<String> addresses;
    private final Duration callTimeout;
    private final Retry retry;
    private final CircuitBreaker breaker;
    private volatile int preferred;

    public ControllerClient(DaemonConfig config) {
        this.addresses = config.controllers();
        this.callTimeout = config.callTimeout();
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("controller.addresses is empty");
        }
        for (String address : addresses) {
            channels.add(channel(address, config));
        }
        this.retry = Retry.of("controller", RetryConfig.custom()
                .maxAttempts(4)
                .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(200), 2.0, 0.5))
                .retryOnException(ControllerClient::retriable)
                .build());
        this.breaker = CircuitBreaker.of("controller", CircuitBreakerConfig.custom()
                .slidingWindowSize(10)
                .minimumNumberOfCalls(5)
                .failureRateThreshold(80)
                .waitDurationInOpenState(Duration.ofSeconds(10))
                .recordException(ControllerClient::retriable)
                .build());
    }

    private static ManagedChannel channel(String address, DaemonConfig config) {
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("controller address \"" + address + "\" must be host:port");
        }
        var builder = NettyChannelBuilder.forAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)))
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true);
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
            return c == Status.Code.UNAVAILABLE || c == Status.Code.DEADLINE_EXCEEDED
                    || c == Status.Code.ABORTED;
        }
        return false;
    }

    /** One unary call, with failover, retries and the circuit breaker. */
    public <T> T call(Function<LeaseServiceGrpc.LeaseServiceBlockingStub, T> rpc) {
        return Retry.decorateSupplier(retry, CircuitBreaker.decorateSupplier(breaker, () -> acrossReplicas(rpc))).get();
    }

    private <T> T acrossReplicas(Function<LeaseServiceGrpc.LeaseServiceBlockingStub, T> rpc) {
        StatusRuntimeException last = null;
        int start = preferred;
        for (int i = 0; i < channels.size(); i++) {
            int idx = (start + i) % channels.size();
            try {
                T result = rpc.apply(LeaseServiceGrpc.newBlockingStub(channels.get(idx))
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

    /** The channel to the replica that answered last, then the others, for streams. */
    public ManagedChannel channel(int attempt) {
        return channels.get((preferred + attempt) % channels.size());
    }

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
