package io.silk.daemon.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** /health (200 or 503 with the reason, as JSON), /metrics (Prometheus) and more (/flows) on a loopback port. */
public final class HealthServer implements AutoCloseable {

    private final HttpServer server;

    public HealthServer(String hostPort, Supplier<String> problem, Supplier<String> details, PrometheusMeterRegistry registry)
            throws IOException {
        int colon = hostPort.lastIndexOf(':');
        server = HttpServer.create(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 16);
        server.createContext("/health", ex -> {
            String why = problem.get();
            String body = why == null
                    ? "{\"status\":\"UP\"," + details.get() + "}"
                    : "{\"status\":\"DOWN\",\"reason\":\"" + why.replace("\\", "\\\\").replace("\"", "\\\"") + "\"," + details.get() + "}";
            send(ex, why == null ? 200 : 503, "application/json", body);
        });
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4", registry.scrape()));
        // A thread per request: a streaming endpoint (/flows) must not hold up /health.
        server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    /** Serves {@code path} with {@code handler} too (e.g. /flows). */
    public void handle(String path, com.sun.net.httpserver.HttpHandler handler) {
        server.createContext(path, handler);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
