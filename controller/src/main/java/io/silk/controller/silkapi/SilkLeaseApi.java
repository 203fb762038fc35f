package io.silk.controller.silkapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.silk.controller.grpc.Refusal;
import io.silk.controller.identity.TlsProperties;
import io.silk.controller.lease.LeaseLedger;
import io.silk.controller.lease.RoutableLeases;
import io.silk.proto.v1.Lease;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import io.silk.values.Quote;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Silk's own lease API (what silk-daemon calls on silk-controller: HTTPS + JSON with mutual TLS),
 * so existing Silk cells can be pointed at this controller and a fleet can move cell by cell: a
 * Silk cell and a silk.v1 cell hold leases from the same ledger and see each other's routes.
 * {@code PUT /leases/acquire}, {@code PUT /leases/renew}, {@code PUT /leases/release},
 * {@code GET /leases}; errors are {@code {"error": "..."}} with 400 for a body that does not read,
 * 409 when a renew disagrees with the ledger or an acquire finds nothing free ("no lease available"),
 * 503 while new leases are fenced ({@link io.silk.controller.lease.AllocationFence}; silk-daemon
 * retries), 500 otherwise — Silk's answers. {@code "single_overlay_ip": true} leases one address, a /32 of
 * subnet 0, routed to like any lease ({@link LeaseLedger#acquireSingleIp}). As in Silk, any
 * client certificate the CA signed may act on any cell (Silk's daemons share one certificate).
 * On when {@code silk.controller.silk-api.port} is set.
 */
@Component
@ConditionalOnProperty("silk.controller.silk-api.port")
public class SilkLeaseApi implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(SilkLeaseApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY = 64 * 1024;

    private final LeaseLedger ledger;
    private final RoutableLeases routable;
    private final SSLContext ssl;
    private final String address;
    private final int configuredPort;
    private HttpServer server;

    public SilkLeaseApi(LeaseLedger ledger, RoutableLeases routable, SslBundles bundles, TlsProperties tls,
            @Value("${silk.controller.silk-api.address:0.0.0.0}") String address,
            @Value("${silk.controller.silk-api.port}") int port) {
        this.ledger = ledger;
        this.routable = routable;
        this.ssl = tls.enabled() ? bundles.getBundle("silk-grpc").createSslContext() : null;
        this.address = address;
        this.configuredPort = port;
    }

    /** The port it listens on (the configured one, or the one the system chose for 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void start() {
        try {
            InetSocketAddress at = new InetSocketAddress(address, configuredPort);
            if (ssl != null) {
                HttpsServer https = HttpsServer.create(at, 64);
                https.setHttpsConfigurator(new HttpsConfigurator(ssl) {
                    @Override
                    public void configure(HttpsParameters params) {
                        SSLParameters p = ssl.getDefaultSSLParameters();
                        p.setNeedClientAuth(true);
                        p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
                        params.setSSLParameters(p);
                    }
                });
                server = https;
            } else {
                log.warn("Silk lease API without TLS (silk.controller.tls.enabled=false): local development only");
                server = HttpServer.create(at, 64);
            }
        } catch (IOException e) {
            throw new IllegalStateException("Silk lease API: listen on " + address + ":" + configuredPort + ": " + e.getMessage(), e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/leases/acquire", ex -> handle(ex, "PUT", this::acquire));
        server.createContext("/leases/renew", ex -> handle(ex, "PUT", this::renew));
        server.createContext("/leases/release", ex -> handle(ex, "PUT", this::release));
        server.createContext("/leases", ex -> handle(ex, "GET", body -> list()));
        server.start();
        log.atInfo().addKeyValue("address", address + ":" + port()).addKeyValue("tls", ssl != null).log("Silk lease API listening");
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }

    private interface Handler {
        JsonNode answer(JsonNode body);
    }

    private void handle(HttpExchange ex, String method, Handler handler) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals(method)) {
                send(ex, 405, error(ex.getRequestURI().getPath() + " takes " + method));
                return;
            }
            JsonNode body = null;
            if (method.equals("PUT")) {
                byte[] raw;
                try (InputStream in = ex.getRequestBody()) {
                    raw = in.readNBytes(MAX_BODY + 1);
                }
                if (raw.length > MAX_BODY) {
                    send(ex, 400, error("the body is over " + MAX_BODY + " bytes"));
                    return;
                }
                try {
                    body = JSON.readTree(raw);
                } catch (IOException e) {
                    send(ex, 400, error("the body is not JSON: " + Quote.shortened(new String(raw, StandardCharsets.UTF_8))));
                    return;
                }
                if (body == null || !body.isObject()) {
                    send(ex, 400, error("the body must be a JSON object"));
                    return;
                }
            }
            try {
                send(ex, 200, handler.answer(body));
            } catch (Refusal r) {
                int status = switch (r.reason()) {
                    case INVALID -> 400;
                    case MISMATCH, EXHAUSTED -> 409;
                    case FENCED -> 503;
                    default -> 500;
                };
                // Silk answers an acquire it cannot serve with 409 "no lease available".
                String message = r.reason() == Refusal.Reason.EXHAUSTED ? "no lease available: " + r.getMessage() : r.getMessage();
                send(ex, status, error(message));
            } catch (RuntimeException e) {
                log.atWarn().addKeyValue("path", ex.getRequestURI().getPath()).addKeyValue("error", e.toString())
                        .log("Silk lease API call failed");
                send(ex, 500, error(ex.getRequestURI().getPath() + ": " + e.getMessage()));
            }
        }
    }

    /** A subnet for a cell, or with {@code "single_overlay_ip": true} one address (a /32) for a host such as a router. */
    private JsonNode acquire(JsonNode body) {
        Ipv4Address cell = cell(body, "acquire lease");
        JsonNode single = body.path("single_overlay_ip");
        if (!single.isMissingNode() && !single.isNull() && !single.isBoolean()) {
            throw Refusal.invalid("acquire lease for " + cell + ": single_overlay_ip must be true or false, not "
                    + Quote.shortened(single.toString()));
        }
        return lease((single.asBoolean(false) ? ledger.acquireSingleIp(cell) : ledger.acquire(cell)).toProto());
    }

    private JsonNode renew(JsonNode body) {
        Ipv4Address cell = cell(body, "renew lease");
        ledger.renew(cell, body.path("overlay_subnet").asText(""), body.path("overlay_hardware_addr").asText(""));
        return JSON.createObjectNode();
    }

    private JsonNode release(JsonNode body) {
        Ipv4Address cell = cell(body, "release lease");
        if (ledger.release(cell)) {
            log.atInfo().addKeyValue("cell", cell).log("lease released (Silk API)");
        }
        return JSON.createObjectNode();
    }

    /** The routable leases, with every write committed before the call. */
    private JsonNode list() {
        ObjectNode out = JSON.createObjectNode();
        var leases = out.putArray("leases");
        routable.afterNow().leases().forEach(l -> leases.add(lease(l)));
        return out;
    }

    private static ObjectNode lease(Lease l) {
        return JSON.createObjectNode().put("underlay_ip", l.getUnderlayIp()).put("overlay_subnet", l.getOverlaySubnet())
                .put("overlay_hardware_addr", l.getOverlayHardwareAddr());
    }

    private static Ipv4Address cell(JsonNode body, String action) {
        JsonNode ip = body.path("underlay_ip");
        if (!ip.isTextual()) {
            throw Refusal.invalid(action + ": underlay_ip is required (a string)");
        }
        try {
            return Ipv4Address.parse(ip.asText(), "underlay_ip");
        } catch (BadValue e) {
            throw Refusal.invalid(action + ": " + e.getMessage());
        }
    }

    private static JsonNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] b = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }
}
