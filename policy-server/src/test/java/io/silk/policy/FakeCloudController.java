package io.silk.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.springframework.boot.ssl.pem.PemContent;

/**
 * A stand-in for the Cloud Controller and UAA, which cannot run on this machine: an in-process
 * HTTPS server answering the calls the policy server makes, in the shapes the Cloud Controller's
 * v3 documentation and cf-networking's policy server use.
 *
 * <ul>
 *   <li>UAA: {@code POST /uaa/oauth/token} — client credentials only, the client's id and secret as
 *       basic auth; answers {@code access_token}, {@code token_type}, {@code expires_in}.</li>
 *   <li>{@code GET /v3/security_groups}, {@code /v3/apps?guids=}, {@code /v3/roles?types=&user_guids=&space_guids=}:
 *       v3 lists with {@code pagination} (total_results, total_pages, first, last, next, previous)
 *       whose hrefs carry the public name {@code https://api.example.org}, as the Cloud
 *       Controller's carry its external domain. Pages hold at most {@link #pageSize} resources
 *       whatever {@code per_page} asks (the real one honours up to 5,000), so a handful of groups
 *       spans several pages. A bearer token UAA issued (and not revoked) is required; otherwise 401
 *       in the v3 error shape.</li>
 *   <li>{@code GET /internal/v4/asg_latest_update} → {@code {"last_update": "…"}} (RFC 3339 with
 *       nanoseconds, as the Cloud Controller writes it) on a second server that requires a client
 *       certificate, as the Cloud Controller's internal mTLS port does. It moves on every change.</li>
 * </ul>
 * While {@link #down} is set every Cloud Controller call is answered 503.
 */
final class FakeCloudController implements AutoCloseable {

    static final String CLIENT = "network-policy";
    static final String SECRET = "s3cret";
    static final String PUBLIC = "https://api.example.org";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter RFC3339_NANOS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSxxx")
            .withZone(ZoneOffset.UTC);

    record Group(String guid, String name, String rules, boolean running, boolean staging, List<String> runningSpaces,
            List<String> stagingSpaces) {}

    private final HttpsServer api;
    private final HttpsServer internal;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Group> groups = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Map<String, String> appSpaces = new ConcurrentHashMap<>();
    /** "user space type" */
    private final Set<String> roles = ConcurrentHashMap.newKeySet();
    private final Set<String> tokens = ConcurrentHashMap.newKeySet();
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private volatile Instant lastUpdate = Instant.EPOCH;
    volatile boolean down;
    volatile int pageSize = 2;
    volatile int tokenLifetimeSeconds = 3600;
    final AtomicInteger tokensIssued = new AtomicInteger();
    /** Run once before the next security-groups page 2 is answered (a change in the middle of a listing). */
    volatile Runnable beforePageTwo;

    FakeCloudController(TestPki pki) throws Exception {
        api = server(pki, false);
        internal = server(pki, true);
        api.createContext("/uaa/oauth/token", e -> answer(e, this::token));
        api.createContext("/v3/", e -> answer(e, this::v3));
        internal.createContext("/internal/v4/asg_latest_update", e -> answer(e, this::lastUpdate));
        api.start();
        internal.start();
    }

    String apiUrl() {
        return "https://localhost:" + api.getAddress().getPort();
    }

    String internalUrl() {
        return "https://localhost:" + internal.getAddress().getPort();
    }

    /** The policy server's settings for this Cloud Controller (harness arguments). */
    List<String> settings(TestPki pki) {
        String p = "silk.policy-server.cloud-controller.";
        return List.of(p + "api=" + apiUrl(), p + "internal-api=" + internalUrl(), p + "uaa-url=" + apiUrl() + "/uaa",
                p + "client-id=" + CLIENT, p + "client-secret=" + SECRET, p + "ca-certificate=" + pki.file("ca.pem"),
                p + "internal-certificate=" + pki.file("client.pem"), p + "internal-private-key=" + pki.file("client-key.pem"));
    }

    // ---- the Cloud Controller's state ---------------------------------------------------------

    void put(Group g) {
        groups.put(g.guid(), g);
        touch();
    }

    void remove(String guid) {
        groups.remove(guid);
        touch();
    }

    Group group(String guid) {
        return groups.get(guid);
    }

    List<Group> groups() {
        synchronized (groups) {
            return List.copyOf(groups.values());
        }
    }

    /** The mark moves (as the Cloud Controller's does on any v3 security-group write). */
    synchronized void touch() {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        lastUpdate = now.isAfter(lastUpdate) ? now : lastUpdate.plus(1, ChronoUnit.MICROS);
    }

    String lastUpdateMark() {
        return RFC3339_NANOS.format(lastUpdate);
    }

    void app(String app, String space) {
        appSpaces.put(app, space);
    }

    void role(String user, String space, String type) {
        roles.add(user + " " + space + " " + type);
    }

    void revokeTokens() {
        tokens.clear();
    }

    /** Every request so far: "METHOD path?query". */
    List<String> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    long count(String prefix) {
        return requests().stream().filter(r -> r.startsWith(prefix)).count();
    }

    @Override
    public void close() {
        api.stop(0);
        internal.stop(0);
        threads.close();
    }

    // ---- endpoints ----------------------------------------------------------------------------

    private record Reply(int status, Object body) {}

    private Reply token(HttpExchange e) throws IOException {
        String form = new String(e.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String auth = e.getRequestHeaders().getFirst("Authorization");
        String expected = "Basic " + Base64.getEncoder().encodeToString((CLIENT + ":" + SECRET).getBytes(StandardCharsets.UTF_8));
        if (!"POST".equals(e.getRequestMethod()) || !expected.equals(auth)) {
            return new Reply(401, Map.of("error", "unauthorized", "error_description", "Bad credentials"));
        }
        if (!query(form).getOrDefault("grant_type", "").equals("client_credentials")) {
            return new Reply(400, Map.of("error", "unsupported_grant_type"));
        }
        String token = "token-" + tokensIssued.incrementAndGet();
        tokens.add(token);
        return new Reply(200, Map.of("access_token", token, "token_type", "bearer", "expires_in", tokenLifetimeSeconds,
                "scope", "cloud_controller.admin_read_only uaa.resource", "jti", token));
    }

    private Reply lastUpdate(HttpExchange e) {
        if (down) {
            return unavailable();
        }
        return new Reply(200, Map.of("last_update", lastUpdateMark()));
    }

    private Reply v3(HttpExchange e) {
        if (down) {
            return unavailable();
        }
        String auth = e.getRequestHeaders().getFirst("Authorization");
        if (auth == null || !auth.toLowerCase().startsWith("bearer ") || !tokens.contains(auth.substring(7))) {
            return new Reply(401, Map.of("errors", List.of(Map.of("detail", "Invalid Auth Token", "title", "CF-InvalidAuthToken",
                    "code", 1000))));
        }
        String path = e.getRequestURI().getPath();
        Map<String, String> q = query(e.getRequestURI().getRawQuery());
        return switch (path) {
            case "/v3/security_groups" -> {
                if (q.getOrDefault("page", "1").equals("2") && beforePageTwo != null) {
                    Runnable r = beforePageTwo;
                    beforePageTwo = null;
                    r.run();
                }
                yield new Reply(200, page(path, q, groups().stream().map(g -> (Object) resource(g)).toList()));
            }
            case "/v3/apps" -> {
                List<String> wanted = list(q.get("guids"));
                yield new Reply(200, page(path, q, wanted.stream().filter(appSpaces::containsKey).sorted().map(a -> {
                    ObjectNode app = JSON.createObjectNode().put("guid", a).put("name", "name-of-" + a).put("state", "STARTED");
                    app.putObject("relationships").putObject("space").putObject("data").put("guid", appSpaces.get(a));
                    app.putObject("links").putObject("space").put("href", PUBLIC + "/v3/spaces/" + appSpaces.get(a));
                    return (Object) app;
                }).toList()));
            }
            case "/v3/roles" -> {
                List<String> types = list(q.get("types"));
                List<String> users = list(q.get("user_guids"));
                List<String> spaces = list(q.get("space_guids"));
                yield new Reply(200, page(path, q, roles.stream().sorted().map(r -> r.split(" "))
                        .filter(r -> (types.isEmpty() || types.contains(r[2])) && (users.isEmpty() || users.contains(r[0]))
                                && (spaces.isEmpty() || spaces.contains(r[1])))
                        .map(r -> {
                            ObjectNode role = JSON.createObjectNode().put("guid", "role-" + String.join("-", r)).put("type", r[2]);
                            ObjectNode rel = role.putObject("relationships");
                            rel.putObject("user").putObject("data").put("guid", r[0]);
                            rel.putObject("space").putObject("data").put("guid", r[1]);
                            rel.putObject("organization").putNull("data");
                            return (Object) role;
                        }).toList()));
            }
            default -> new Reply(404, Map.of("errors", List.of(Map.of("detail", "Unknown request", "title", "CF-NotFound",
                    "code", 10000))));
        };
    }

    private ObjectNode resource(Group g) {
        ObjectNode r = JSON.createObjectNode().put("guid", g.guid()).put("created_at", "2020-02-20T17:42:08Z")
                .put("updated_at", "2020-02-20T17:42:08Z").put("name", g.name());
        r.putObject("globally_enabled").put("running", g.running()).put("staging", g.staging());
        try {
            r.set("rules", JSON.readTree(g.rules()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ObjectNode rel = r.putObject("relationships");
        ArrayNode staging = rel.putObject("staging_spaces").putArray("data");
        g.stagingSpaces().forEach(s -> staging.addObject().put("guid", s));
        ArrayNode running = rel.putObject("running_spaces").putArray("data");
        g.runningSpaces().forEach(s -> running.addObject().put("guid", s));
        r.putObject("links").putObject("self").put("href", PUBLIC + "/v3/security_groups/" + g.guid());
        return r;
    }

    /** A v3 page: per_page asked (capped at pageSize), hrefs on the public name, keeping the filters. */
    private Map<String, Object> page(String path, Map<String, String> q, List<Object> all) {
        int perPage = Math.min(Integer.parseInt(q.getOrDefault("per_page", "50")), pageSize);
        int page = Integer.parseInt(q.getOrDefault("page", "1"));
        int pages = Math.max(1, (all.size() + perPage - 1) / perPage);
        Function<Integer, Map<String, String>> href = n -> {
            StringBuilder s = new StringBuilder(PUBLIC + path + "?page=" + n + "&per_page=" + perPage);
            q.forEach((k, v) -> {
                if (!k.equals("page") && !k.equals("per_page")) {
                    s.append('&').append(k).append('=').append(java.net.URLEncoder.encode(v, StandardCharsets.UTF_8));
                }
            });
            return Map.of("href", s.toString());
        };
        Map<String, Object> pagination = new LinkedHashMap<>();
        pagination.put("total_results", all.size());
        pagination.put("total_pages", pages);
        pagination.put("first", href.apply(1));
        pagination.put("last", href.apply(pages));
        pagination.put("next", page < pages ? href.apply(page + 1) : null);
        pagination.put("previous", page > 1 ? href.apply(page - 1) : null);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pagination", pagination);
        out.put("resources", all.subList(Math.min(all.size(), (page - 1) * perPage), Math.min(all.size(), page * perPage)));
        return out;
    }

    private static Reply unavailable() {
        return new Reply(503, Map.of("errors", List.of(Map.of("detail", "Server error", "title", "CF-ServiceUnavailable",
                "code", 10015))));
    }

    private interface Endpoint {
        Reply handle(HttpExchange e) throws IOException;
    }

    private void answer(HttpExchange e, Endpoint endpoint) throws IOException {
        try (e) {
            String raw = e.getRequestURI().getRawQuery();
            requests.add(e.getRequestMethod() + " " + e.getRequestURI().getPath() + (raw == null ? "" : "?" + raw));
            Reply r;
            try {
                r = endpoint.handle(e);
            } catch (RuntimeException ex) {
                r = new Reply(500, Map.of("errors", List.of(Map.of("detail", String.valueOf(ex), "code", 10001))));
            }
            byte[] body = JSON.writeValueAsBytes(r.body());
            e.getResponseHeaders().set("Content-Type", "application/json");
            e.sendResponseHeaders(r.status(), body.length);
            e.getResponseBody().write(body);
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            q.put(k, v);
        }
        return q;
    }

    private static List<String> list(String csv) {
        return csv == null || csv.isBlank() ? List.of() : Arrays.stream(csv.split(",")).map(String::strip).toList();
    }

    private HttpsServer server(TestPki pki, boolean clientCertificates) throws Exception {
        PemContent cert = PemContent.load(pki.file("server.pem"));
        PemContent key = PemContent.load(pki.file("server-key.pem"));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", key.getPrivateKey(), new char[0], cert.getCertificates().toArray(java.security.cert.Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", PemContent.load(pki.file("ca.pem")).getCertificates().getFirst());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ssl) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = ssl.getDefaultSSLParameters();
                p.setNeedClientAuth(clientCertificates);
                params.setSSLParameters(p);
            }
        });
        s.setExecutor(threads);
        return s;
    }
}
