package io.silk.policy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.silk.testing.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A real policy server on a real PostgreSQL, with a token issuer of its own. The server checks
 * the issuer and the audience, as a production one should ({@link #ISSUER}, {@link #AUDIENCE}).
 */
public final class PolicyServerHarness implements AutoCloseable {

    public record Reply(int status, String body) {}

    public static final String ISSUER = "https://uaa.silk.test/oauth/token";
    public static final String AUDIENCE = "network";

    private final ConfigurableApplicationContext context;
    private final RSAKey key;
    private final HttpClient http = HttpClient.newHttpClient();
    final TestPostgres.Database db;
    final int port;

    public PolicyServerHarness(String... extra) throws Exception {
        this(TestPostgres.newDatabase(), extra);
    }

    /** A policy server on the given database (a Patroni cluster's, say). */
    public PolicyServerHarness(TestPostgres.Database db, String... extra) throws Exception {
        this.db = db;
        key = new RSAKeyGenerator(2048).generate();
        Path pem = Files.createTempFile("silk-jwt", ".pem");
        Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(key.toRSAPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
        List<String> args = new ArrayList<>(List.of(
                "--spring.datasource.url=" + db.url(), "--spring.datasource.username=" + db.user(),
                "--spring.datasource.password=" + db.password(), "--server.port=0",
                "--spring.security.oauth2.resourceserver.jwt.public-key-location=file:" + pem,
                "--silk.policy-server.token-issuer=" + ISSUER, "--silk.policy-server.token-audiences=" + AUDIENCE));
        for (String e : extra) {
            args.add("--" + e);
        }
        context = new SpringApplicationBuilder(PolicyServerApplication.class).run(args.toArray(String[]::new));
        port = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
    }

    /** A token for the subject with the scopes, signed by this harness's key. */
    public String token(String subject, String... scopes) throws Exception {
        return token(claims(subject, scopes).build());
    }

    /** The claims {@link #token(String, String...)} signs, for a test to change. */
    public static JWTClaimsSet.Builder claims(String subject, String... scopes) {
        return new JWTClaimsSet.Builder().subject(subject).claim("scope", List.of(scopes)).issuer(ISSUER)
                .audience(List.of(AUDIENCE, "openid")).expirationTime(new Date(System.currentTimeMillis() + 600_000));
    }

    /** The claims, signed by this harness's key. */
    public String token(JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /** A well-formed token signed by a key the server does not trust. */
    public static String foreignToken() throws Exception {
        RSAKey other = new RSAKeyGenerator(2048).generate();
        var claims = claims("mallory", "network.admin").build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).build(), claims);
        jwt.sign(new RSASSASigner(other));
        return jwt.serialize();
    }

    public Reply call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(java.time.Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body());
    }

    @Override
    public void close() {
        context.close();
    }
}
