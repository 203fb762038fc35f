package io.silk.load;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The policy server the simulations load: by default the packaged jar started here on loopback, on
 * the controller's embedded PostgreSQL, checking real JWTs (RS256) signed by a key made here; or
 * the server at -Dsilk.load.policy-server=URL, called with the token in -Dsilk.load.policy-token
 * (or none, for a server in local-development mode).
 */
final class PolicyServerUnderTest implements AutoCloseable {

    final String url;
    private final KeyPair key;
    private final Process process;

    private PolicyServerUnderTest(String url, KeyPair key, Process process) {
        this.url = url;
        this.key = key;
        this.process = process;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Started on the database at the JDBC URL (the controller's), as user postgres. */
    static PolicyServerUnderTest startOrConnect(String databaseUrl, List<String> extraArgs) throws Exception {
        String external = System.getProperty("silk.load.policy-server");
        if (external != null && !external.isBlank()) {
            return new PolicyServerUnderTest(external, null, null);
        }
        if (databaseUrl == null) {
            throw new IllegalStateException("policy server: the controller's database URL is not known;"
                    + " set -Dsilk.load.database-url, or -Dsilk.load.policy-server for a running policy server");
        }
        Path work = Files.createTempDirectory("silk-load-policy");
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair key = g.generateKeyPair();
        Path pem = work.resolve("jwt.pem");
        Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(key.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
        int port = freePort();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m"));
        // Experiments: JVM options (e.g. a profiler) and more server settings, space-separated.
        command.addAll(words(System.getProperty("silk.load.policy-server-jvm-args", "")));
        command.addAll(List.of("-jar",
                ControllerUnderTest.ROOT.resolve("policy-server/target/silk-policy-server-0.1.0-SNAPSHOT.jar").toString(),
                "--server.port=" + port,
                "--spring.datasource.url=" + databaseUrl,
                "--spring.datasource.username=postgres", "--spring.datasource.password=postgres",
                "--spring.security.oauth2.resourceserver.jwt.public-key-location=file:" + pem,
                "--logging.level.io.silk=WARN"));
        command.addAll(extraArgs);
        command.addAll(words(System.getProperty("silk.load.policy-server-args", "")));
        Path log = work.resolve("policy-server.log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        String url = "http://127.0.0.1:" + port;
        HttpClient client = HttpClient.newHttpClient();
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("policy server exited; see " + log);
            }
            try {
                if (client.send(HttpRequest.newBuilder(URI.create(url + "/actuator/health/readiness")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    break;
                }
            } catch (Exception notYet) {
                // starting
            }
            if (System.currentTimeMillis() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("policy server not ready after 120 s; see " + log);
            }
            Thread.sleep(200);
        }
        return new PolicyServerUnderTest(url, key, p);
    }

    private static List<String> words(String s) {
        return s.isBlank() ? List.of() : List.of(s.trim().split("\\s+"));
    }

    /** "Bearer ..." for a caller with the scope, or null when the server checks no tokens. */
    String authorization(String scope) throws Exception {
        if (key == null) {
            String token = System.getProperty("silk.load.policy-token");
            return token == null || token.isBlank() ? null : "Bearer " + token;
        }
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        long exp = System.currentTimeMillis() / 1000 + 24 * 3600;
        String signingInput = b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(("{\"sub\":\"load-operator\",\"scope\":[\"" + scope + "\"],\"exp\":" + exp + "}")
                        .getBytes(StandardCharsets.UTF_8));
        Signature rs256 = Signature.getInstance("SHA256withRSA");
        rs256.initSign(key.getPrivate());
        rs256.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return "Bearer " + signingInput + "." + b64.encodeToString(rs256.sign());
    }

    /** The process id, to read its CPU time from /proc; -1 when connected to an external server. */
    long pid() {
        return process == null ? -1 : process.pid();
    }

    /** Gatling's HTTP protocol against this server, JSON both ways, with the authorization header (none when null). */
    io.gatling.javaapi.http.HttpProtocolBuilder protocol(String authorization) {
        var protocol = io.gatling.javaapi.http.HttpDsl.http.baseUrl(url).shareConnections().disableCaching()
                .contentTypeHeader("application/json").acceptHeader("application/json");
        return authorization == null ? protocol : protocol.authorizationHeader(authorization);
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
