package io.silk.controller.testing;

import io.silk.testing.TestPostgres;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.silk.controller.ControllerApplication;
import io.silk.proto.v1.LeaseServiceGrpc;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/** One controller replica, a real Spring Boot application serving gRPC over TCP with mTLS. */
public final class ControllerReplica implements AutoCloseable {

    private final ConfigurableApplicationContext context;
    private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
    private final int grpcPort;

    private ControllerReplica(ConfigurableApplicationContext context) {
        this.context = context;
        this.grpcPort = context.getBean(GrpcServerLifecycle.class).getPort();
    }

    /** Starts a replica on the database with mTLS and the given extra properties. */
    public static ControllerReplica start(TestPostgres.Database db, String... properties) {
        Map<String, Object> props = new HashMap<>();
        props.put("spring.datasource.url", db.url());
        props.put("spring.datasource.username", db.user());
        props.put("spring.datasource.password", db.password());
        props.put("spring.grpc.server.port", 0);
        props.put("server.port", 0);
        props.put("silk.controller.tls.certificate", TestPki.serverCertificate().toString());
        props.put("silk.controller.tls.private-key", TestPki.serverKey().toString());
        props.put("silk.controller.tls.trust", TestPki.ca().toString());
        props.put("spring.grpc.server.shutdown-grace-period", "0s");
        for (String p : properties) {
            int eq = p.indexOf('=');
            props.put(p.substring(0, eq), p.substring(eq + 1));
        }
        return start(props);
    }

    public static ControllerReplica start(Map<String, Object> props) {
        // Command-line arguments, so they win over application.yml.
        String[] args = props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        var ctx = new SpringApplicationBuilder(ControllerApplication.class).run(args);
        return new ControllerReplica(ctx);
    }

    public int grpcPort() {
        return grpcPort;
    }

    public int httpPort() {
        return Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
    }

    public ConfigurableApplicationContext context() {
        return context;
    }

    /** A channel presenting the given client certificate (null: none). */
    public ManagedChannel channel(TestPki.Identity identity) {
        ManagedChannel ch = channelTo(grpcPort, identity);
        channels.add(ch);
        return ch;
    }

    /**
     * An operator's stub whose every call has 30 s (a stub's own {@code withDeadlineAfter} is one
     * instant for all its calls: a stub kept through a slow test would fail every call after it).
     */
    public LeaseServiceGrpc.LeaseServiceBlockingStub operatorStub() {
        return LeaseServiceGrpc.newBlockingStub(channel(TestPki.operator())).withInterceptors(PER_CALL_DEADLINE);
    }

    /** 30 s from the start of each call that has no deadline of its own. */
    private static final ClientInterceptor PER_CALL_DEADLINE = new ClientInterceptor() {
        @Override
        public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
            return next.newCall(method, options.getDeadline() == null ? options.withDeadlineAfter(30, TimeUnit.SECONDS) : options);
        }
    };

    public static ManagedChannel channelTo(int port, TestPki.Identity identity) {
        try {
            var ssl = GrpcSslContexts.forClient().trustManager(TestPki.ca().toFile());
            if (identity != null) {
                ssl.keyManager(identity.certificate().toFile(), identity.key().toFile());
            }
            return NettyChannelBuilder.forAddress("localhost", port).sslContext(ssl.build()).build();
        } catch (SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Calls an actuator endpoint on the management port: GET, DELETE, or POST with a JSON body;
     * returns the body, failing on any status but 200.
     */
    public String actuator(String method, String endpoint, String jsonBody) {
        Answer a = actuatorAnswer(method, endpoint, jsonBody);
        if (a.status() != 200) {
            throw new AssertionError(method + " /actuator/" + endpoint + ": " + a.status() + " " + a.body());
        }
        return a.body();
    }

    /** An HTTP answer: its status and body. */
    public record Answer(int status, String body) {}

    /** As {@link #actuator}, whatever the status. */
    public Answer actuatorAnswer(String method, String endpoint, String jsonBody) {
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPort() + "/actuator/" + endpoint));
        request = switch (method) {
            case "GET" -> request.GET();
            case "DELETE" -> request.DELETE();
            case "POST" -> request.header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(jsonBody == null ? "{}" : jsonBody));
            default -> throw new IllegalArgumentException(method);
        };
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            var r = http.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Stops the replica at once: open streams are cut, as when the process dies. */
    @Override
    public void close() {
        for (ManagedChannel ch : channels) {
            ch.shutdownNow();
        }
        context.getBean(GrpcServerLifecycle.class).stop();
        context.close();
    }
}
