package io.silk.policy.cloudcontroller;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.springframework.boot.ssl.pem.PemContent;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The few Cloud Controller calls the policy server makes, as cf-networking's policy server makes
 * them: with a UAA client-credentials token ({@code POST /oauth/token}, the client's id and secret
 * as basic auth), kept until shortly before it expires and fetched again when the Cloud Controller
 * answers 401; v3 lists followed page by page through {@code pagination.next.href}; every call
 * bounded by {@code request-timeout}. A failure is a {@link CloudControllerException} naming the
 * call ({@code GET /v3/security_groups page 2: 503 Service Unavailable: ...}).
 */
public final class CloudControllerClient {

    /** cf-networking's page size for security groups; the Cloud Controller's maximum. */
    static final int PER_PAGE = 5_000;
    /** Guids per filter in one request (cf-networking sends apps by the hundred). */
    static final int CHUNK = 100;
    private static final int MAX_PAGES = 10_000;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private record Token(String value, long refreshAtNanos) {}

    private final CloudControllerProperties properties;
    private final HttpClient external;
    private final HttpClient internal;
    private final LongSupplier nanos;
    private Token token;

    CloudControllerClient(CloudControllerProperties properties, HttpClient external, HttpClient internal, LongSupplier nanos) {
        this.properties = properties;
        this.external = external;
        this.internal = internal;
        this.nanos = nanos;
    }

    /** A client with the TLS the properties describe (CA bundle, or none checked; the internal API's client certificate). */
    public static CloudControllerClient create(CloudControllerProperties p) {
        p.check();
        TrustManager[] trust = trust(p);
        HttpClient external = http(p, ssl(null, trust));
        HttpClient internal = p.internalCertificate() == null ? external
                : http(p, ssl(keys(p.internalCertificate(), p.internalPrivateKey()), trust));
        return new CloudControllerClient(p, external, internal, System::nanoTime);
    }

    public URI api() {
        return properties.api();
    }

    // ---- the calls ------------------------------------------------------------------------------

    /**
     * The Cloud Controller's mark of its last security-group change ({@code GET
     * /internal/v4/asg_latest_update} → {@code {"last_update": "2024-…T…Z"}}); empty when it has
     * no such endpoint (404), as cf-networking takes it: then every poll pulls the groups.
     */
    public Optional<String> securityGroupsLastUpdate() {
        URI base = properties.internalApi() == null ? properties.api() : properties.internalApi();
        HttpClient client = properties.internalApi() == null ? external : internal;
        Reply r = get(client, base.resolve("/internal/v4/asg_latest_update"), "GET /internal/v4/asg_latest_update");
        if (r.status() == 404) {
            return Optional.empty();
        }
        JsonNode body = ok(r, "GET /internal/v4/asg_latest_update");
        JsonNode last = body.get("last_update");
        if (last == null || !last.isString() || last.asString().isBlank()) {
            throw new CloudControllerException("GET /internal/v4/asg_latest_update: no last_update in " + snippet(r.body()));
        }
        return Optional.of(last.asString());
    }

    /** Every security group ({@code GET /v3/security_groups}, all pages), as the Cloud Controller writes them. */
    public List<JsonNode> securityGroups() {
        return all("/v3/security_groups", "per_page=" + PER_PAGE);
    }

    /** The space of each app the Cloud Controller knows ({@code GET /v3/apps?guids=…}); unknown apps are absent. */
    public Map<String, String> appSpaces(Collection<String> apps) {
        Map<String, String> spaces = new LinkedHashMap<>();
        for (List<String> chunk : chunks(apps)) {
            for (JsonNode app : all("/v3/apps", "guids=" + csv(chunk) + "&per_page=" + chunk.size())) {
                String guid = text(app.get("guid"));
                String space = text(app.at("/relationships/space/data/guid"));
                if (space == null) { // the older shape cf-networking reads: links.space.href ends with the guid
                    String href = text(app.at("/links/space/href"));
                    space = href == null ? null : href.substring(href.lastIndexOf('/') + 1);
                }
                if (guid != null && space != null && !space.isEmpty()) {
                    spaces.put(guid, space);
                }
            }
        }
        return spaces;
    }

    /**
     * Which of the spaces the user is a space developer of ({@code GET
     * /v3/roles?types=space_developer&user_guids=USER&space_guids=…}).
     */
    public Set<String> developerSpaces(String user, Collection<String> spaces) {
        Set<String> out = new HashSet<>();
        for (List<String> chunk : chunks(spaces)) {
            for (JsonNode role : all("/v3/roles", "types=space_developer&user_guids=" + URLEncoder.encode(user, StandardCharsets.UTF_8)
                    + "&space_guids=" + csv(chunk) + "&per_page=" + PER_PAGE)) {
                String space = text(role.at("/relationships/space/data/guid"));
                String who = text(role.at("/relationships/user/data/guid"));
                if ("space_developer".equals(text(role.get("type"))) && user.equals(who) && space != null) {
                    out.add(space);
                }
            }
        }
        return out;
    }

    // ---- v3 lists -------------------------------------------------------------------------------

    /**
     * Every resource of a v3 list, page by page. A next page's href carries the Cloud Controller's
     * public name; its path and query are asked at {@code api}, as cf-networking does.
     */
    List<JsonNode> all(String path, String query) {
        List<JsonNode> resources = new ArrayList<>();
        URI next = properties.api().resolve(path + "?" + query);
        for (int page = 1; next != null; page++) {
            if (page > MAX_PAGES) {
                throw new CloudControllerException("GET " + path + ": more than " + MAX_PAGES + " pages");
            }
            String what = "GET " + path + " page " + page;
            JsonNode body = ok(get(external, next, what), what);
            JsonNode items = body.get("resources");
            if (items == null || !items.isArray()) {
                throw new CloudControllerException(what + ": no resources list in the answer");
            }
            items.forEach(resources::add);
            String href = text(body.at("/pagination/next/href"));
            next = href == null || href.isBlank() ? null : onOurApi(href, what);
        }
        return resources;
    }

    private URI onOurApi(String href, String what) {
        try {
            URI u = URI.create(href);
            String rest = u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
            return properties.api().resolve(rest);
        } catch (IllegalArgumentException e) {
            throw new CloudControllerException(what + ": unreadable next href " + snippet(href));
        }
    }

    // ---- HTTP -----------------------------------------------------------------------------------

    private record Reply(int status, String body) {}

    /** A GET with the client token; on 401 once more with a new token (the old one may have been revoked or expired early). */
    private Reply get(HttpClient client, URI uri, String what) {
        Reply r = send(client, request(uri).header("Authorization", "bearer " + token(false)).GET().build(), what);
        if (r.status() == 401) {
            r = send(client, request(uri).header("Authorization", "bearer " + token(true)).GET().build(), what);
        }
        return r;
    }

    private HttpRequest.Builder request(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(properties.requestTimeout()).header("Accept", "application/json");
    }

    private static Reply send(HttpClient client, HttpRequest request, String what) {
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new CloudControllerException(what + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudControllerException(what + ": interrupted", e);
        }
    }

    private static JsonNode ok(Reply r, String what) {
        if (r.status() != 200) {
            throw new CloudControllerException(what + ": " + r.status() + errorDetail(r.body()));
        }
        try {
            return JSON.readTree(r.body());
        } catch (JacksonException e) {
            throw new CloudControllerException(what + ": unreadable answer " + snippet(r.body()));
        }
    }

    /** The Cloud Controller's own words ({@code {"errors": [{"detail": ...}]}}), else the start of the body. */
    private static String errorDetail(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode detail = JSON.readTree(body).at("/errors/0/detail");
            if (detail.isString()) {
                return ": " + snippet(detail.asString());
            }
        } catch (JacksonException e) {
            // not JSON: the text
        }
        return ": " + snippet(body);
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : " " + m);
    }

    // ---- UAA ------------------------------------------------------------------------------------

    /** The client-credentials token, kept until shortly before it expires (or fetched anew). */
    synchronized String token(boolean renew) {
        long now = nanos.getAsLong();
        if (!renew && token != null && now - token.refreshAtNanos() < 0) {
            return token.value();
        }
        URI uri = URI.create(properties.uaaUrl().toString().replaceFirst("/+$", "") + "/oauth/token");
        String what = "POST " + uri;
        String basic = Base64.getEncoder().encodeToString((properties.clientId() + ":" + properties.clientSecret())
                .getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(properties.requestTimeout())
                .header("Authorization", "Basic " + basic).header("Accept", "application/json")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials")).build();
        Reply r = send(external, request, what);
        JsonNode body = ok(r, what);
        String value = text(body.get("access_token"));
        if (value == null || value.isBlank()) {
            throw new CloudControllerException(what + ": no access_token in the answer");
        }
        long lifetime = body.path("expires_in").asLong(0);
        // Kept until a minute before it expires (half its life if that is shorter); without an expiry, not kept.
        long keep = Math.max(0, lifetime - Math.min(60, lifetime / 2));
        token = new Token(value, now + Duration.ofSeconds(keep).toNanos());
        return value;
    }

    // ---- TLS ------------------------------------------------------------------------------------

    private static HttpClient http(CloudControllerProperties p, SSLContext ssl) {
        return HttpClient.newBuilder().sslContext(ssl).connectTimeout(p.requestTimeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    private static SSLContext ssl(KeyManager[] keys, TrustManager[] trust) {
        try {
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(keys, trust, new SecureRandom());
            return ssl;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("silk.policy-server.cloud-controller: TLS: " + e.getMessage(), e);
        }
    }

    private static TrustManager[] trust(CloudControllerProperties p) {
        if (p.skipTlsValidation()) {
            return new TrustManager[] {TRUST_ANYONE};
        }
        if (p.caCertificate() == null) {
            return null; // the JDK's
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            List<X509Certificate> certificates = pem(p.caCertificate(), "ca-certificate").getCertificates();
            if (certificates.isEmpty()) {
                throw new IllegalStateException("silk.policy-server.cloud-controller.ca-certificate: " + p.caCertificate()
                        + " holds no certificate");
            }
            for (int i = 0; i < certificates.size(); i++) {
                store.setCertificateEntry("ca-" + i, certificates.get(i));
            }
            TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            f.init(store);
            return f.getTrustManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("silk.policy-server.cloud-controller.ca-certificate: " + e.getMessage(), e);
        }
    }

    private static KeyManager[] keys(Path certificate, Path privateKey) {
        try {
            List<X509Certificate> chain = pem(certificate, "internal-certificate").getCertificates();
            var key = pem(privateKey, "internal-private-key").getPrivateKey();
            if (chain.isEmpty() || key == null) {
                throw new IllegalStateException("silk.policy-server.cloud-controller: no certificate in " + certificate
                        + " or no private key in " + privateKey);
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] none = new char[0];
            store.setKeyEntry("client", key, none, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            f.init(store, none);
            return f.getKeyManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("silk.policy-server.cloud-controller: internal client certificate: " + e.getMessage(), e);
        }
    }

    private static PemContent pem(Path file, String key) {
        try {
            return PemContent.load(file);
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("silk.policy-server.cloud-controller." + key + ": read " + file + ": " + e.getMessage(), e);
        }
    }

    /** skip-tls-validation: every certificate and every name accepted (the name check is the trust manager's). */
    private static final X509ExtendedTrustManager TRUST_ANYONE = new X509ExtendedTrustManager() {
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket socket) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket socket) {}
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
        @Override public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };

    // ---- small things ---------------------------------------------------------------------------

    private static List<List<String>> chunks(Collection<String> items) {
        List<String> all = items.stream().distinct().sorted().toList();
        List<List<String>> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i += CHUNK) {
            out.add(all.subList(i, Math.min(all.size(), i + CHUNK)));
        }
        return out;
    }

    private static String csv(List<String> guids) {
        return URLEncoder.encode(String.join(",", guids), StandardCharsets.UTF_8);
    }

    static String text(JsonNode n) {
        return n == null || !n.isString() ? null : n.asString();
    }

    private static String snippet(String s) {
        if (s == null) {
            return "";
        }
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() > 200 ? one.substring(0, 200) + "…" : one;
    }
}
