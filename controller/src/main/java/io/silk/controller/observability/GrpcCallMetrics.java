package io.silk.controller.observability;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.grpc.server.GlobalServerInterceptor;
import org.springframework.stereotype.Component;

/**
 * Per-method latency and outcome of every gRPC call: {@code silk_grpc_server_call_seconds} with
 * {@code method} and {@code code} tags (a histogram, so p99 can be read off Prometheus).
 */
@Component
@GlobalServerInterceptor
@Order(Ordered.HIGHEST_PRECEDENCE)
public class GrpcCallMetrics implements ServerInterceptor {

    private final MeterRegistry registry;
    /** One timer per method and code, looked up without building tags on every call. */
    private final java.util.concurrent.ConcurrentHashMap<String, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();

    public GrpcCallMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        long start = System.nanoTime();
        String method = call.getMethodDescriptor().getFullMethodName();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                timers.computeIfAbsent(method + ' ' + status.getCode().name(), key -> Timer.builder("silk.grpc.server.call")
                                .description("gRPC server calls by method and status code")
                                .tag("method", method)
                                .tag("code", status.getCode().name())
                                .publishPercentileHistogram()
                                .register(registry))
                        .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
                super.close(status, trailers);
            }
        }, headers);
    }
}
