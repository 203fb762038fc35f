package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.silk.testing.MutualTlsCurl;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * cf's internal policy API on its own port with mutual TLS, called as a third-party agent calls it
 * (curl with a client certificate the CA signed), in cf's shapes.
 */
class InternalApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static PolicyServerHarness server;
    static Path pki;
    static int internalPort;

    static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(pki.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + ": " + out);
        }
    }

    /** A CA, a server certificate for localhost and an agent's client certificate. */
    static void makePki() throws Exception {
        pki = Files.createTempDirectory("silk-internal-pki");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=silk-test-ca", "-keyout", "ca-key.pem", "-out", "ca.pem");
        for (String[] who : new String[][] {{"server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                {"agent", "/CN=third-party-agent", "extendedKeyUsage=clientAuth"}}) {
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", who[1],
                    "-keyout", who[0] + "-key.pem", "-out", who[0] + ".csr");
            Files.writeString(pki.resolve(who[0] + ".ext"), who[2] + "\n");
            openssl("x509", "-req", "-in", who[0] + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                    "-days", "2", "-extfile", who[0] + ".ext", "-out", who[0] + ".pem");
        }
    }

    @BeforeAll
    static void start() throws Exception {
        makePki();
        try (ServerSocket s = new ServerSocket(0)) {
            internalPort = s.getLocalPort();
        }
        server = new PolicyServerHarness("silk.policy-server.internal.port=" + internalPort,
                "silk.policy-server.internal.certificate=" + pki.resolve("server.pem"),
                "silk.policy-server.internal.private-key=" + pki.resolve("server-key.pem"),
                "silk.policy-server.internal.client-ca=" + pki.resolve("ca.pem"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    record Answer(int status, JsonNode body) {}

    static Answer internal(String method, String path, String body, boolean withCertificate) throws Exception {
        MutualTlsCurl curl = withCertificate ? new MutualTlsCurl(pki.resolve("ca.pem"), pki.resolve("agent.pem"), pki.resolve("agent-key.pem"))
                : MutualTlsCurl.anonymous(pki.resolve("ca.pem"));
        MutualTlsCurl.Answer a = curl.call(method, "https://localhost:" + internalPort + path, body);
        return new Answer(a.status(), JSON.readTree(a.body()));
    }

    @Test
    void policiesWithTheirTagsInCfsShape() throws Exception {
        String admin = server.token("admin", "network.admin");
        assertThat(server.call("POST", "/networking/v1/external/policies", admin, """
                {"policies":[{"source":{"id":"int-a"},"destination":{"id":"int-b","protocol":"tcp","ports":{"start":8080,"end":8090}}},
                             {"source":{"id":"int-c"},"destination":{"id":"int-d","protocol":"udp","ports":{"start":53,"end":53}}}]}
                """).status()).isEqualTo(200);

        Answer all = internal("GET", "/networking/v1/internal/policies", null, true);
        assertThat(all.status()).isEqualTo(200);
        JsonNode policies = all.body().get("policies");
        assertThat(policies).hasSizeGreaterThanOrEqualTo(2);
        JsonNode ab = null;
        for (JsonNode p : policies) {
            if (p.at("/source/id").asText().equals("int-a")) {
                ab = p;
            }
        }
        assertThat(ab).isNotNull();
        assertThat(ab.at("/source/tag").asText()).matches("[0-9A-F]{4}");
        assertThat(ab.at("/destination/tag").asText()).matches("[0-9A-F]{4}").isNotEqualTo(ab.at("/source/tag").asText());
        assertThat(ab.at("/destination/protocol").asText()).isEqualTo("tcp");
        assertThat(ab.at("/destination/ports/start").asInt()).isEqualTo(8080);
        assertThat(ab.at("/destination/ports/end").asInt()).isEqualTo(8090);

        Answer filtered = internal("GET", "/networking/v1/internal/policies?id=int-d", null, true);
        assertThat(filtered.body().get("policies")).hasSize(1);
        assertThat(filtered.body().at("/policies/0/source/id").asText()).isEqualTo("int-c");
    }

    @Test
    void tagsForGroupsThatAreNotAppsAreIdempotentAndKeepTheirType() throws Exception {
        Answer router = internal("PUT", "/networking/v1/internal/tags", "{\"id\":\"INGRESS_ROUTER\",\"type\":\"router\"}", true);
        assertThat(router.status()).isEqualTo(200);
        assertThat(router.body().get("id").asText()).isEqualTo("INGRESS_ROUTER");
        assertThat(router.body().get("type").asText()).isEqualTo("router");
        String tag = router.body().get("tag").asText();
        assertThat(tag).matches("[0-9A-F]{4}");
        Answer again = internal("PUT", "/networking/v1/internal/tags", "{\"id\":\"INGRESS_ROUTER\",\"type\":\"router\"}", true);
        assertThat(again.body().get("tag").asText()).as("idempotent").isEqualTo(tag);

        Answer clash = internal("PUT", "/networking/v1/internal/tags", "{\"id\":\"INGRESS_ROUTER\",\"type\":\"app\"}", true);
        assertThat(clash.status()).isEqualTo(409);
        assertThat(clash.body().toString()).contains("INGRESS_ROUTER", "router");
        assertThat(internal("PUT", "/networking/v1/internal/tags", "{\"id\":\"x\"}", true).status()).isEqualTo(400);

        // A policy naming the router and then deleted does not take the router's tag away.
        String admin = server.token("admin", "network.admin");
        String policy = "{\"policies\":[{\"source\":{\"id\":\"INGRESS_ROUTER\"},\"destination\":{\"id\":\"int-e\",\"protocol\":\"tcp\","
                + "\"ports\":{\"start\":8080,\"end\":8080}}}]}";
        assertThat(server.call("POST", "/networking/v1/external/policies", admin, policy).status()).isEqualTo(200);
        assertThat(server.call("POST", "/networking/v1/external/policies/delete", admin, policy).status()).isEqualTo(200);
        assertThat(internal("PUT", "/networking/v1/internal/tags", "{\"id\":\"INGRESS_ROUTER\",\"type\":\"router\"}", true)
                .body().get("tag").asText()).isEqualTo(tag);
    }

    @Test
    void securityGroupsOfSpacesInCfsShapePagedById() throws Exception {
        String admin = server.token("admin", "network.admin");
        String base = "/networking/v1/external/security_groups";
        String[] bodies = {
                "{\"name\":\"int-global\",\"globally_enabled\":{\"running\":true},"
                        + "\"rules\":[{\"protocol\":\"udp\",\"destination\":\"10.0.0.2\",\"ports\":\"53\"}]}",
                "{\"name\":\"int-space-x\",\"relationships\":{\"running_spaces\":{\"data\":[{\"guid\":\"int-x\"}]},"
                        + "\"staging_spaces\":{\"data\":[{\"guid\":\"int-x\"}]}}}",
                "{\"name\":\"int-space-y\",\"relationships\":{\"staging_spaces\":{\"data\":[{\"guid\":\"int-y\"}]}}}"};
        for (String b : bodies) {
            assertThat(server.call("POST", base, admin, b).status()).isEqualTo(201);
        }
        Answer x = internal("GET", "/networking/v1/internal/security_groups?space_guids=int-x", null, true);
        assertThat(x.status()).isEqualTo(200);
        assertThat(x.body().get("next").asLong()).isZero();
        List<String> names = new ArrayList<>();
        x.body().get("security_groups").forEach(g -> names.add(g.get("name").asText()));
        assertThat(names).contains("int-global", "int-space-x").doesNotContain("int-space-y");
        JsonNode global = null;
        JsonNode spaceX = null;
        for (JsonNode g : x.body().get("security_groups")) {
            global = g.get("name").asText().equals("int-global") ? g : global;
            spaceX = g.get("name").asText().equals("int-space-x") ? g : spaceX;
        }
        assertThat(global.get("running_default").asBoolean()).isTrue();
        assertThat(global.get("staging_default").asBoolean()).isFalse();
        assertThat(global.get("rules").isTextual()).as("cf sends the rules as a JSON string").isTrue();
        assertThat(JSON.readTree(global.get("rules").asText()).at("/0/ports").asText()).isEqualTo("53");
        assertThat(spaceX.get("running_space_guids").toString()).isEqualTo("[\"int-x\"]");
        assertThat(spaceX.get("staging_space_guids").toString()).isEqualTo("[\"int-x\"]");
        assertThat(spaceX.get("guid").asText()).matches("[0-9a-f-]{36}");

        // Paged: limit 1 hands out the id to continue from, then 0 at the end.
        List<String> paged = new ArrayList<>();
        long from = 0;
        do {
            Answer page = internal("GET", "/networking/v1/internal/security_groups?space_guids=int-x&limit=1&from=" + from, null, true);
            assertThat(page.body().get("security_groups")).hasSize(1);
            paged.add(page.body().at("/security_groups/0/name").asText());
            from = page.body().get("next").asLong();
        } while (from != 0);
        assertThat(paged).containsExactlyElementsOf(names);
        assertThat(internal("GET", "/networking/v1/internal/security_groups?limit=0", null, true).status()).isEqualTo(400);
    }

    @Test
    void eachApiOnItsOwnPortAndNoAgentWithoutACertificate() throws Exception {
        assertThatThrownBy(() -> internal("GET", "/networking/v1/internal/policies", null, false))
                .isInstanceOf(IOException.class).hasMessageContaining("curl failed");
        assertThat(server.call("GET", "/networking/v1/internal/policies", null, null).status())
                .as("not on the external port").isEqualTo(404);
        assertThat(internal("GET", "/networking/v1/external/policies", null, true).status())
                .as("the external API is not on the internal port").isEqualTo(404);
    }
}
