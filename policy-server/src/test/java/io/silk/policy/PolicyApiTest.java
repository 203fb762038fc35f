package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** cf-networking's external API v1 against a real server and database, through real HTTP. */
class PolicyApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "/networking/v1/external";
    static PolicyServerHarness server;
    static String admin;
    static String writer;

    @BeforeAll
    static void start() throws Exception {
        server = new PolicyServerHarness("silk.policy-server.max-policies-per-source=3");
        admin = server.token("admin-user", "network.admin");
        writer = server.token("dev-user", "network.write");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static String policy(String src, String dst, String protocol, int start, int end) {
        return "{\"source\":{\"id\":\"" + src + "\"},\"destination\":{\"id\":\"" + dst + "\",\"protocol\":\"" + protocol
                + "\",\"ports\":{\"start\":" + start + ",\"end\":" + end + "}}}";
    }

    static String policies(String... p) {
        return "{\"policies\":[" + String.join(",", p) + "]}";
    }

    static JsonNode json(PolicyServerHarness.Reply r) throws Exception {
        return JSON.readTree(r.body());
    }

    @Test
    void createListFilterAndDelete() throws Exception {
        var created = server.call("POST", BASE + "/policies", admin,
                policies(policy("app-a", "app-b", "tcp", 8080, 8080), policy("app-a", "app-c", "udp", 53, 53),
                        policy("app-c", "app-b", "tcp", 9000, 9100)));
        assertThat(created.status()).isEqualTo(200);
        assertThat(created.body()).isEqualTo("{}");
        // Idempotent.
        assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("app-a", "app-b", "tcp", 8080, 8080))).status())
                .isEqualTo(200);

        JsonNode all = json(server.call("GET", BASE + "/policies?id=app-a,app-b,app-c", admin, null));
        assertThat(all.get("total_policies").asInt()).isEqualTo(3);
        assertThat(all.get("policies").get(0).toString()).isEqualTo(
                "{\"source\":{\"id\":\"app-a\"},\"destination\":{\"id\":\"app-b\",\"protocol\":\"tcp\",\"ports\":{\"start\":8080,\"end\":8080}}}");
        assertThat(json(server.call("GET", BASE + "/policies?id=app-c", admin, null)).get("total_policies").asInt()).isEqualTo(2);
        assertThat(json(server.call("GET", BASE + "/policies?source_id=app-a", admin, null)).get("total_policies").asInt()).isEqualTo(2);
        assertThat(json(server.call("GET", BASE + "/policies?dest_id=app-b", admin, null)).get("total_policies").asInt()).isEqualTo(2);
        assertThat(json(server.call("GET", BASE + "/policies?source_id=app-c&dest_id=app-b", admin, null))
                .get("total_policies").asInt()).isEqualTo(1);

        var deleted = server.call("POST", BASE + "/policies/delete", admin, policies(policy("app-a", "app-c", "udp", 53, 53),
                policy("app-x", "app-y", "tcp", 1, 1)));
        assertThat(deleted.status()).isEqualTo(200);
        assertThat(json(server.call("GET", BASE + "/policies?id=app-a", admin, null)).get("total_policies").asInt()).isEqualTo(1);

        try (var c = server.db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT kind, count(*) FROM policy_event WHERE source_id IN ('app-a', 'app-c')"
                     + " GROUP BY kind ORDER BY kind")) {
            rs.next();
            assertThat(rs.getString(1) + rs.getInt(2)).isEqualTo("CREATED3");
            rs.next();
            assertThat(rs.getString(1) + rs.getInt(2)).isEqualTo("DELETED1");
        }
        server.call("POST", BASE + "/policies/delete", admin, policies(policy("app-a", "app-b", "tcp", 8080, 8080),
                policy("app-c", "app-b", "tcp", 9000, 9100)));
    }

    @Test
    void tagsAreSixteenBitHexAndFreedTagsAreReused() throws Exception {
        server.call("POST", BASE + "/policies", admin, policies(policy("tag-1", "tag-2", "tcp", 80, 80)));
        JsonNode tags = json(server.call("GET", BASE + "/tags", admin, null)).get("tags");
        String t1 = null;
        for (JsonNode t : tags) {
            assertThat(t.get("tag").asText()).matches("[0-9A-F]{4}");
            assertThat(t.get("type").asText()).isEqualTo("app");
            if (t.get("id").asText().equals("tag-1")) {
                t1 = t.get("tag").asText();
            }
        }
        assertThat(t1).isNotNull();
        server.call("POST", BASE + "/policies/delete", admin, policies(policy("tag-1", "tag-2", "tcp", 80, 80)));
        assertThat(server.call("GET", BASE + "/tags", admin, null).body()).doesNotContain("tag-1");
        server.call("POST", BASE + "/policies", admin, policies(policy("tag-3", "tag-4", "tcp", 80, 80)));
        assertThat(json(server.call("GET", BASE + "/tags", admin, null)).toString()).contains("\"tag\":\"" + t1 + "\"");
        server.call("POST", BASE + "/policies/delete", admin, policies(policy("tag-3", "tag-4", "tcp", 80, 80)));
    }

    @Test
    void invalidInputGetsCfNetworkingMessages() throws Exception {
        String[][] cases = {
            {policies(), "mapper: validate policies: missing policies"},
            {"{\"policies\":[{\"source\":{},\"destination\":{\"id\":\"b\",\"protocol\":\"tcp\",\"ports\":{\"start\":1,\"end\":1}}}]}",
                "mapper: validate policies: missing source id"},
            {policies(policy("a", "b", "icmp", 1, 1)), "mapper: validate policies: invalid destination protocol, specify either udp or tcp"},
            {policies(policy("a", "b", "tcp", 90, 80)), "mapper: validate policies: invalid port range 90-80, start must be less than or equal to end"},
            {policies(policy("a", "b", "tcp", 0, 80)), "mapper: validate policies: missing start port"},
            {policies(policy("a", "b", "tcp", 80, 70000)), "mapper: validate policies: invalid end port 70000, must be in range 1-65535"},
            {"{\"policies\":[{\"source\":{\"id\":\"a\",\"tag\":\"0001\"},\"destination\":{\"id\":\"b\",\"protocol\":\"tcp\",\"ports\":{\"start\":1,\"end\":1}}}]}",
                "mapper: validate policies: tags may not be specified"},
            {"{\"policies\":[{\"source\":{\"id\":\"a\"},\"destination\":{\"id\":\"b\",\"protocol\":\"tcp\",\"port\":8080}}]}",
                "mapper: validate policies: missing start port"},
        };
        for (String[] c : cases) {
            var r = server.call("POST", BASE + "/policies", admin, c[0]);
            assertThat(r.status()).as(c[0]).isEqualTo(400);
            assertThat(json(r).get("error").asText()).isEqualTo(c[1]);
        }
        var malformed = server.call("POST", BASE + "/policies", admin, "{\"policies\": [");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(json(malformed).get("error").asText()).startsWith("mapper: unmarshal json:");
        assertThat(server.call("GET", BASE + "/policies?id=never-named", admin, null).body())
                .isEqualTo("{\"total_policies\":0,\"policies\":[]}");

        var version = server.call("GET", "/networking/v2/external/policies", admin, null);
        assertThat(version.status()).isEqualTo(406);
        assertThat(json(version).get("error").asText()).isEqualTo("api version 'v2' not supported");

        String huge = "{\"policies\":[" + "x".repeat(11 << 20) + "]}";
        var tooBig = server.call("POST", BASE + "/policies", admin, huge);
        assertThat(tooBig.status()).isEqualTo(400);
        assertThat(json(tooBig).get("error").asText()).startsWith("failed reading request body");
    }

    @Test
    void tokensAndScopes() throws Exception {
        var none = server.call("GET", BASE + "/policies", null, null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(json(none).get("error").asText()).isEqualTo("missing authorization header");
        var forged = server.call("GET", BASE + "/policies", PolicyServerHarness.foreignToken(), null);
        assertThat(forged.status()).isEqualTo(401);
        assertThat(json(forged).get("error").asText()).startsWith("failed to verify token");

        var reader = server.token("someone", "openid");
        var noScope = server.call("GET", BASE + "/policies", reader, null);
        assertThat(noScope.status()).isEqualTo(403);
        assertThat(json(noScope).get("error").asText())
                .isEqualTo("provided scopes [openid] do not include allowed scopes [network.admin network.write]");
        assertThat(server.call("GET", BASE + "/policies", writer, null).status()).isEqualTo(200);
        var writerTags = server.call("GET", BASE + "/tags", writer, null);
        assertThat(writerTags.status()).isEqualTo(403);
        assertThat(json(writerTags).get("error").asText()).contains("do not include allowed scopes [network.admin]");
        assertThat(server.call("GET", "/openapi.yaml", null, null).body()).contains("url: /networking/v1/external", "/policies:");
    }

    @Test
    void perSourceQuotaBindsNetworkWriteButNotAdmins() throws Exception {
        assertThat(server.call("POST", BASE + "/policies", writer, policies(policy("q-src", "q-1", "tcp", 1, 1),
                policy("q-src", "q-2", "tcp", 1, 1), policy("q-src", "q-3", "tcp", 1, 1))).status()).isEqualTo(200);
        var over = server.call("POST", BASE + "/policies", writer, policies(policy("q-src", "q-4", "tcp", 1, 1)));
        assertThat(over.status()).isEqualTo(403);
        assertThat(json(over).get("error").asText()).isEqualTo("policy quota exceeded");
        assertThat(json(server.call("GET", BASE + "/policies?source_id=q-src", admin, null)).get("total_policies").asInt()).isEqualTo(3);
        assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("q-src", "q-4", "tcp", 1, 1))).status()).isEqualTo(200);
    }

    @Test
    void egressPoliciesCidrAndRangesForAdminsOnly() throws Exception {
        String body = "{\"egress_policies\":["
                + "{\"source\":{\"id\":\"eg-app\"},\"destination\":{\"cidr\":\"203.0.113.0/24\",\"protocol\":\"tcp\",\"ports\":{\"start\":443,\"end\":443}}},"
                + "{\"source\":{\"id\":\"eg-app\"},\"destination\":{\"ips\":{\"start\":\"198.51.100.10\",\"end\":\"198.51.100.20\"},\"protocol\":\"icmp\",\"icmp_type\":8}}]}";
        assertThat(server.call("POST", BASE + "/egress_policies", writer, body).status()).isEqualTo(403);
        var created = server.call("POST", BASE + "/egress_policies", admin, body);
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        assertThat(server.call("POST", BASE + "/egress_policies", admin, body).status()).isEqualTo(200);

        JsonNode listed = json(server.call("GET", BASE + "/egress_policies?id=eg-app", admin, null));
        assertThat(listed.get("total_egress_policies").asInt()).isEqualTo(2);
        assertThat(listed.get("egress_policies").get(0).toString()).isEqualTo("{\"source\":{\"id\":\"eg-app\"},"
                + "\"destination\":{\"ips\":{\"start\":\"203.0.113.0\",\"end\":\"203.0.113.255\"},\"protocol\":\"tcp\","
                + "\"ports\":{\"start\":443,\"end\":443}}}");
        assertThat(server.call("GET", BASE + "/tags", admin, null).body()).contains("eg-app");

        String[][] bad = {
            {"{\"egress_policies\":[]}", "mapper: validate egress policies: missing egress policies"},
            {"{\"egress_policies\":[{\"source\":{\"id\":\"x\"},\"destination\":{\"cidr\":\"10.0.0.0/33\",\"protocol\":\"tcp\"}}]}",
                "mapper: validate egress policies: destination cidr \"10.0.0.0/33\" has no valid prefix length"},
            {"{\"egress_policies\":[{\"source\":{\"id\":\"x\"},\"destination\":{\"cidr\":\"10.0.0.0/8\",\"protocol\":\"icmp\",\"ports\":{\"start\":1,\"end\":2}}}]}",
                "mapper: validate egress policies: ports are only for tcp and udp"},
            {"{\"egress_policies\":[{\"source\":{\"id\":\"x\"},\"destination\":{\"ips\":{\"start\":\"10.0.0.9\",\"end\":\"10.0.0.1\"},\"protocol\":\"all\"}}]}",
                "mapper: validate egress policies: invalid ip range 10.0.0.9-10.0.0.1, start must be less than or equal to end"},
            {"{\"egress_policies\":[{\"source\":{\"id\":\"x\"},\"destination\":{\"cidr\":\"10.0.0.0/8\",\"protocol\":\"sctp\"}}]}",
                "mapper: validate egress policies: invalid destination protocol, specify tcp, udp, icmp or all"},
        };
        for (String[] c : bad) {
            var r = server.call("POST", BASE + "/egress_policies", admin, c[0]);
            assertThat(r.status()).as(c[0]).isEqualTo(400);
            assertThat(json(r).get("error").asText()).isEqualTo(c[1]);
        }

        assertThat(server.call("POST", BASE + "/egress_policies/delete", admin, body).status()).isEqualTo(200);
        assertThat(json(server.call("GET", BASE + "/egress_policies?id=eg-app", admin, null)).get("total_egress_policies").asInt()).isZero();
        assertThat(server.call("GET", BASE + "/tags", admin, null).body()).doesNotContain("eg-app");
    }

    /** Raw HTTP/1.1 over a socket: the whole body is written before a byte of the answer is read. */
    static PolicyServerHarness.Reply writeAllThenRead(String headers, byte[][] body) throws Exception {
        try (var socket = new java.net.Socket("127.0.0.1", server.port)) {
            socket.setSoTimeout(30_000);
            var out = socket.getOutputStream();
            out.write(("POST " + BASE + "/policies HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + admin
                    + "\r\nContent-Type: application/json\r\nConnection: close\r\n" + headers + "\r\n").getBytes());
            try {
                for (byte[] part : body) {
                    out.write(part);
                }
                out.flush();
            } catch (java.net.SocketException e) {
                byte[] got = socket.getInputStream().readNBytes(2000);
                throw new AssertionError("the server closed while the body was written; it had answered: "
                        + new String(got, java.nio.charset.StandardCharsets.UTF_8), e);
            }
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int status = Integer.parseInt(answer.substring(9, 12));
            String content = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            if (answer.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
                content = content.substring(content.indexOf("\r\n") + 2, content.lastIndexOf("}") + 1);
            }
            return new PolicyServerHarness.Reply(status, content);
        }
    }

    @Test
    void aBodyOverTheCapIsAnsweredToAClientThatWritesItAllBeforeReading() throws Exception {
        byte[] chunk = "x".repeat(64 * 1024).getBytes();
        int chunks = 11 * 16; // 11 MiB, over the 10 MiB cap
        byte[][] plain = new byte[chunks][];
        java.util.Arrays.fill(plain, chunk);
        var sized = writeAllThenRead("Content-Length: " + (long) chunk.length * chunks + "\r\n", plain);
        assertThat(sized.status()).isEqualTo(400);
        assertThat(json(sized).get("error").asText()).isEqualTo("failed reading request body: larger than 10485760 bytes");

        // Without a Content-Length the cap is found while reading: JSON that goes on and on ...
        var streamed = writeAllThenRead("Transfer-Encoding: chunked\r\n", chunked("{\"policies\":[", ' ', chunks));
        assertThat(streamed.status()).isEqualTo(400);
        assertThat(json(streamed).get("error").asText()).isEqualTo("failed reading request body: larger than 10485760 bytes");
        // ... or JSON that is malformed from its first byte, answered before the rest was read.
        var malformed = writeAllThenRead("Transfer-Encoding: chunked\r\n", chunked("x", 'x', chunks));
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(json(malformed).get("error").asText()).startsWith("mapper: unmarshal json:");
    }

    /** A chunked body: {@code start}, then {@code fill} to make {@code chunks} chunks of 64 KiB, then the last chunk. */
    static byte[][] chunked(String start, char fill, int chunks) {
        byte[][] parts = new byte[chunks + 1][];
        for (int i = 0; i < chunks; i++) {
            String data = i == 0 ? start + String.valueOf(fill).repeat(64 * 1024 - start.length()) : String.valueOf(fill).repeat(64 * 1024);
            parts[i] = ("10000\r\n" + data + "\r\n").getBytes();
        }
        parts[chunks] = "0\r\n\r\n".getBytes();
        return parts;
    }

    @Test
    void portsAreJsonIntegersAsCfNetworkingHasThem() throws Exception {
        for (String port : new String[] {"\"8080\"", "8080.7", "8080.0", "true"}) {
            String body = "{\"policies\":[{\"source\":{\"id\":\"p-a\"},\"destination\":{\"id\":\"p-b\",\"protocol\":\"tcp\","
                    + "\"ports\":{\"start\":" + port + ",\"end\":8080}}}]}";
            var r = server.call("POST", BASE + "/policies", admin, body);
            assertThat(r.status()).as(port).isEqualTo(400);
            assertThat(json(r).get("error").asText()).as(port).startsWith("mapper: unmarshal json:");
            String egress = "{\"egress_policies\":[{\"source\":{\"id\":\"p-a\"},\"destination\":{\"cidr\":\"10.0.0.0/8\","
                    + "\"protocol\":\"tcp\",\"ports\":{\"start\":" + port + ",\"end\":8080}}}]}";
            assertThat(server.call("POST", BASE + "/egress_policies", admin, egress).status()).as(port).isEqualTo(400);
        }
        assertThat(json(server.call("GET", BASE + "/policies?id=p-a", admin, null)).get("total_policies").asInt()).isZero();
    }

    @Test
    void egressWithoutProtocolOrWithAnOverlongSourceIsRefusedWith400() throws Exception {
        var noProtocol = server.call("POST", BASE + "/egress_policies", admin,
                "{\"egress_policies\":[{\"source\":{\"id\":\"x\"},\"destination\":{\"cidr\":\"10.0.0.0/8\"}}]}");
        assertThat(noProtocol.status()).isEqualTo(400);
        assertThat(json(noProtocol).get("error").asText())
                .isEqualTo("mapper: validate egress policies: missing destination protocol, specify tcp, udp, icmp or all");
        String longId = "a".repeat(256);
        var tooLong = server.call("POST", BASE + "/egress_policies", admin, "{\"egress_policies\":[{\"source\":{\"id\":\"" + longId
                + "\"},\"destination\":{\"cidr\":\"10.0.0.0/8\",\"protocol\":\"all\"}}]}");
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(json(tooLong).get("error").asText()).startsWith("mapper: validate egress policies: source id \"aaaa")
                .endsWith("is longer than 255 characters").hasSizeLessThan(200);
        var c2c = server.call("POST", BASE + "/policies", admin, policies(policy(longId, "b", "tcp", 1, 1)));
        assertThat(c2c.status()).isEqualTo(400);
        assertThat(json(c2c).get("error").asText()).isEqualTo("mapper: validate policies: app ids are at most 255 characters");
    }

    @Test
    void concurrentCreatesNamingTheSameNewAppsAllSucceed() throws Exception {
        int writers = 16;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            for (int round = 0; round < 10; round++) {
                var start = new java.util.concurrent.CyclicBarrier(writers);
                var replies = new java.util.ArrayList<java.util.concurrent.Future<PolicyServerHarness.Reply>>();
                for (int w = 0; w < writers; w++) {
                    String app = "race-" + round;
                    int port = 1000 + w;
                    boolean egress = w % 2 == 0;
                    replies.add(pool.submit(() -> {
                        start.await();
                        return egress
                                ? server.call("POST", BASE + "/egress_policies", admin, "{\"egress_policies\":[{\"source\":{\"id\":\""
                                        + app + "\"},\"destination\":{\"cidr\":\"10.0.0.0/8\",\"protocol\":\"tcp\",\"ports\":{\"start\":"
                                        + port + ",\"end\":" + port + "}}}]}")
                                : server.call("POST", BASE + "/policies", admin, policies(policy(app, app + "-dst", "tcp", port, port)));
                    }));
                }
                for (var r : replies) {
                    assertThat(r.get().status()).as(r.get().body()).isEqualTo(200);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        JsonNode tags = json(server.call("GET", BASE + "/tags", admin, null)).get("tags");
        var seen = new java.util.HashSet<String>();
        int raced = 0;
        for (JsonNode t : tags) {
            assertThat(seen.add(t.get("tag").asText())).as("tags are unique").isTrue();
            raced += t.get("id").asText().startsWith("race-") ? 1 : 0;
        }
        assertThat(raced).isEqualTo(20);
        assertThat(json(server.call("GET", BASE + "/egress_policies?id=race-3", admin, null)).get("total_egress_policies").asInt())
                .isEqualTo(writers / 2);
        assertThat(json(server.call("GET", BASE + "/policies?source_id=race-3", admin, null)).get("total_policies").asInt())
                .isEqualTo(writers / 2);
    }

    @Test
    void tokensMustComeFromTheIssuerForTheAudienceAndExpire() throws Exception {
        var wrongIssuer = server.token(PolicyServerHarness.claims("a", "network.admin").issuer("https://elsewhere/oauth/token").build());
        var wrongAudience = server.token(PolicyServerHarness.claims("a", "network.admin").audience("cloud_controller").build());
        var noExpiry = server.token(PolicyServerHarness.claims("a", "network.admin").expirationTime(null).build());
        var expired = server.token(PolicyServerHarness.claims("a", "network.admin")
                .expirationTime(new java.util.Date(System.currentTimeMillis() - 3_600_000)).build());
        for (String token : new String[] {wrongIssuer, wrongAudience, noExpiry, expired}) {
            var r = server.call("GET", BASE + "/policies", token, null);
            assertThat(r.status()).isEqualTo(401);
            assertThat(json(r).get("error").asText()).startsWith("failed to verify token");
        }
        assertThat(json(server.call("GET", BASE + "/policies", noExpiry, null)).get("error").asText()).contains("no expiry");
        assertThat(server.call("GET", BASE + "/policies", admin, null).status()).isEqualTo(200);
    }

    @Test
    void aWriteSignalsTheControllersOnceCommittedAndANoOpWritesNoEvent() throws Exception {
        try (var listen = server.db.connect(); Statement s = listen.createStatement()) {
            s.execute("LISTEN silk_policy_events");
            var pg = listen.unwrap(org.postgresql.PGConnection.class);
            pg.getNotifications(1); // anything earlier tests left
            assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("sig-a", "sig-b", "tcp", 5, 5))).status())
                    .isEqualTo(200);
            var woken = pg.getNotifications(5_000);
            assertThat(woken).isNotNull().isNotEmpty();
            assertThat(woken[0].getName()).isEqualTo("silk_policy_events");
            long before = count(s, "SELECT count(*) FROM policy_event");
            assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("sig-a", "sig-b", "tcp", 5, 5))).status())
                    .isEqualTo(200);
            assertThat(server.call("POST", BASE + "/policies/delete", admin, policies(policy("sig-x", "sig-y", "tcp", 5, 5))).status())
                    .isEqualTo(200);
            assertThat(count(s, "SELECT count(*) FROM policy_event")).isEqualTo(before);
        }
    }

    static long count(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
