package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.silk.policy.FakeCloudController.Group;
import io.silk.policy.cloudcontroller.SecurityGroupSyncer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

/**
 * The security-group syncer against a stand-in Cloud Controller and UAA ({@link
 * FakeCloudController}: the real ones cannot run here), over HTTPS with the internal API on mutual
 * TLS, polling every 100 ms. Ours are compared with the Cloud Controller's through our external
 * API; the policy-log events show what cells would have been sent. The tests run in order on one
 * server, each from the state the one before left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecurityGroupSyncTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "/networking/v1/external/security_groups";
    static final String G1 = "b85a788e-671f-4549-814d-e34cdb2f539a";
    static final String G2 = "a89a788e-671f-4549-814d-e34c1b2f533a";
    static final String G3 = "3c1e9a30-0a6b-4d5e-9b8e-1f2a3b4c5d6e";
    static final String G4 = "4d2f0b41-1b7c-4e6f-8c9f-2a3b4c5d6e7f";
    static final String G5 = "5e3a1c52-2c8d-4f70-9da0-3b4c5d6e7f80";
    static final String G6 = "6f4b2d63-3d9e-4081-8eb1-4c5d6e7f8091";
    static final String G7 = "70c53e74-4eaf-4192-9fc2-5d6e7f8091a2";
    static final String LOCAL = "00000000-0000-4000-8000-0000000000aa";

    static TestPki pki;
    static FakeCloudController cc;
    static PolicyServerHarness server;
    static String admin;
    static ListAppender<ILoggingEvent> logs = new ListAppender<>();

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.make();
        cc = new FakeCloudController(pki);
        cc.put(new Group(G1, "public-https", """
                [{"protocol": "tcp", "destination": "10.10.10.0/24", "ports": "443,80,8080"},
                 {"protocol": "icmp", "destination": "10.10.10.0/24", "type": 8, "code": 0,
                  "description": "Allow ping requests to private services"}]""", true, false, List.of(),
                List.of("space-1", "space-2")));
        cc.put(new Group(G2, "dns", "[{\"protocol\": \"udp\", \"destination\": \"10.0.0.2\", \"ports\": \"53\"}]", false, false,
                List.of("space-1", "space-3"), List.of()));
        cc.put(new Group(G3, "database", "[{\"protocol\": \"tcp\", \"destination\": \"10.0.1.0-10.0.1.9\", \"ports\": \"5432\","
                + " \"log\": true}]", false, false, List.of("space-2"), List.of("space-2")));
        cc.put(new Group(G4, "alpha", "[{\"protocol\": \"all\", \"destination\": \"192.168.0.0/16\"}]", true, true, List.of(),
                List.of()));
        cc.put(new Group(G5, "beta", "[]", false, true, List.of("space-4"), List.of()));
        cc.down = true; // the first polls fail: see the first test
        List<String> args = new ArrayList<>(cc.settings(pki));
        args.add("silk.policy-server.cloud-controller.poll-interval=100ms");
        server = new PolicyServerHarness(args.toArray(String[]::new));
        admin = server.token("admin", "network.admin");
        var logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(SecurityGroupSyncer.class);
        logger.setLevel(Level.INFO);
        logs.start();
        logger.addAppender(logs);
    }

    @AfterAll
    static void stop() {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(SecurityGroupSyncer.class)).detachAppender(logs);
        if (server != null) {
            server.close();
        }
        cc.close();
    }

    // ---- the tests ----------------------------------------------------------------------------

    @Test
    @Order(1)
    void theFirstSyncMakesOursEqualToTheCloudControllers() throws Exception {
        // A group made here before the Cloud Controller was configured; the Cloud Controller is down.
        try (Connection c = server.db.connect()) {
            c.createStatement().execute("SELECT put_security_group('" + LOCAL + "', 'made-here', '[]', '[]', false, false)");
            c.createStatement().execute("SELECT bind_security_group('" + LOCAL + "', '[\"space-9\"]', 'running')");
        }
        long polled = cc.count("GET /internal/v4/asg_latest_update");
        await("two failed polls", () -> cc.count("GET /internal/v4/asg_latest_update") >= polled + 2);
        assertThat(ours()).as("nothing synced while the Cloud Controller is down").containsOnlyKeys(LOCAL);
        assertThat(cc.count("GET /v3/security_groups")).isZero();

        long before = lastRevision();
        cc.down = false;
        await("ours equal to the Cloud Controller's", () -> ours().equals(theirs()));
        assertThat(ours()).containsOnlyKeys(G1, G2, G3, G4, G5);
        assertThat(ours().get(G1).toString()).contains("public-https", "\"ports\":\"443,80,8080\"", "Allow ping requests");

        // Five groups on pages of two: three pages, the next ones asked here (not at the hrefs' public name).
        assertThat(cc.requests()).contains("GET /v3/security_groups?per_page=5000", "GET /v3/security_groups?page=2&per_page=2",
                "GET /v3/security_groups?page=3&per_page=2");
        assertThat(cc.count("GET /v3/security_groups?page=4")).isZero();

        // What cells are sent: each group, each binding, and the local group's end.
        List<String> events = events(before);
        assertThat(events).contains("security_group CREATED " + G1, "security_group CREATED " + G5,
                "security_group_binding CREATED space-1", "security_group_binding DELETED space-9", "security_group DELETED " + LOCAL);
        assertThat(events.stream().filter(e -> e.startsWith("security_group CREATED"))).hasSize(5);
        assertThat(events.stream().filter(e -> e.startsWith("security_group_binding CREATED"))).hasSize(2 + 2 + 2 + 1);
    }

    @Test
    @Order(2)
    void aChangeInTheCloudControllerIsMirroredOnTheNextPoll() throws Exception {
        await("in sync", () -> ours().equals(theirs()));
        long before = lastRevision();
        // A rule edited, a binding undone, a group deleted, a new group, two names swapped — at once.
        Group g1 = cc.group(G1);
        cc.put(new Group(G1, g1.name(), "[{\"protocol\": \"tcp\", \"destination\": \"10.10.10.0/24\", \"ports\": \"443\"}]",
                g1.running(), g1.staging(), g1.runningSpaces(), g1.stagingSpaces()));
        Group g2 = cc.group(G2);
        cc.put(new Group(G2, g2.name(), g2.rules(), g2.running(), g2.staging(), List.of("space-1"), g2.stagingSpaces()));
        cc.remove(G3);
        cc.put(new Group(G6, "new-one", "[{\"protocol\": \"udp\", \"destination\": \"10.0.0.0/8\", \"ports\": \"123\"}]", false,
                false, List.of("space-6"), List.of("space-6")));
        Group g4 = cc.group(G4);
        Group g5 = cc.group(G5);
        cc.put(new Group(G4, g5.name(), g4.rules(), g4.running(), g4.staging(), g4.runningSpaces(), g4.stagingSpaces()));
        cc.put(new Group(G5, g4.name(), g5.rules(), g5.running(), g5.staging(), g5.runningSpaces(), g5.stagingSpaces()));

        await("the change mirrored", () -> ours().equals(theirs()));
        assertThat(ours()).containsOnlyKeys(G1, G2, G4, G5, G6);
        assertThat(ours().get(G1).get("rules")).isEqualTo(JSON.readTree("[{\"protocol\":\"tcp\",\"destination\":\"10.10.10.0/24\",\"ports\":\"443\"}]"));
        assertThat(ours().get(G4).get("name").asText()).isEqualTo("beta");
        assertThat(ours().get(G5).get("name").asText()).isEqualTo("alpha");
        // Only what changed reached the log (so the cells): G2 itself was not written again, nothing of G1's bindings moved.
        assertThat(events(before)).containsExactlyInAnyOrder(
                "security_group_binding DELETED space-2", "security_group_binding DELETED space-2", "security_group DELETED " + G3,
                "security_group CREATED " + G1,
                "security_group_binding DELETED space-3",
                "security_group CREATED " + G4, "security_group CREATED " + G5,
                "security_group CREATED " + G6, "security_group_binding CREATED space-6", "security_group_binding CREATED space-6");
    }

    @Test
    @Order(3)
    void anUnchangedMarkPullsNothingAndWritesNothing() throws Exception {
        await("in sync", () -> ours().equals(theirs()));
        long before = lastRevision();
        long pulls = cc.count("GET /v3/security_groups");
        long polled = cc.count("GET /internal/v4/asg_latest_update");
        await("three more polls", () -> cc.count("GET /internal/v4/asg_latest_update") >= polled + 3);
        assertThat(cc.count("GET /v3/security_groups")).as("nothing pulled").isEqualTo(pulls);
        assertThat(events(before)).as("nothing written").isEmpty();
        assertThat(metric("silk_security_group_sync_total{outcome=\"unchanged\"}")).isGreaterThanOrEqualTo(3);

        // The mark moves but the groups are the same (a change undone): pulled, nothing written.
        double inSync = metric("silk_security_group_sync_total{outcome=\"in_sync\"}");
        cc.touch();
        await("a pull that found ours equal", () -> metric("silk_security_group_sync_total{outcome=\"in_sync\"}") > inSync);
        assertThat(cc.count("GET /v3/security_groups")).isGreaterThan(pulls);
        assertThat(events(before)).as("nothing written").isEmpty();
        assertThat(metric("silk_security_group_sync_last_success_seconds")).isGreaterThan(1.7e9);
        assertThat(metric("silk_security_group_sync_groups")).isEqualTo(5);
    }

    @Test
    @Order(4)
    void anOutageLeavesOursAsTheyAreIsLoggedOnceAndTheSyncerRecovers() throws Exception {
        await("in sync", () -> ours().equals(theirs()));
        Map<String, JsonNode> kept = ours();
        long before = lastRevision();
        logs.list.clear();
        double failed = metric("silk_security_group_sync_total{outcome=\"failed\"}");
        cc.down = true;
        cc.remove(G1); // changed while we cannot see it
        await("five failed polls", () -> metric("silk_security_group_sync_total{outcome=\"failed\"}") >= failed + 5);
        assertThat(ours()).as("ours as they were").isEqualTo(kept);
        assertThat(events(before)).isEmpty();
        List<String> warnings = logs.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
        assertThat(warnings).as("one warning per outage, not one per poll").hasSize(1);
        assertThat(warnings.getFirst()).startsWith("sync security groups from " + cc.apiUrl()
                + ": GET /internal/v4/asg_latest_update: 503: Server error; keeping the security groups we have");

        cc.down = false;
        await("recovered", () -> ours().equals(theirs()));
        assertThat(ours()).doesNotContainKey(G1);
        await("the recovery logged", () -> logs.list.stream().anyMatch(e -> e.getLevel() == Level.INFO
                && e.getFormattedMessage().contains("syncing from the Cloud Controller again")));
        assertThat(logs.list.stream().filter(e -> e.getLevel() == Level.WARN)).hasSize(1);
    }

    @Test
    @Order(5)
    void aListingTornByAChangeIsReadAgain() throws Exception {
        await("in sync", () -> ours().equals(theirs()));
        long firstPages = cc.count("GET /v3/security_groups?per_page=5000");
        // Between page 1 and page 2 of the next pull, a group is added: that listing cannot be trusted.
        cc.beforePageTwo = () -> cc.put(new Group(G7, "added-mid-listing", "[]", false, false, List.of("space-7"), List.of()));
        Group g2 = cc.group(G2);
        cc.put(new Group(G2, "dns-renamed", g2.rules(), g2.running(), g2.staging(), g2.runningSpaces(), g2.stagingSpaces()));
        await("both changes mirrored", () -> ours().equals(theirs()) && ours().containsKey(G7));
        assertThat(ours().get(G2).get("name").asText()).isEqualTo("dns-renamed");
        assertThat(cc.count("GET /v3/security_groups?per_page=5000")).as("read again from page 1").isGreaterThanOrEqualTo(firstPages + 2);
    }

    @Test
    @Order(6)
    void aRevokedTokenIsReplacedAndAGoodOneIsKept() throws Exception {
        await("in sync", () -> ours().equals(theirs()));
        int issued = cc.tokensIssued.get();
        assertThat(issued).as("one token for every pull so far").isEqualTo(1);
        cc.revokeTokens();
        Group g6 = cc.group(G6);
        cc.put(new Group(G6, g6.name(), g6.rules(), true, g6.staging(), g6.runningSpaces(), g6.stagingSpaces()));
        await("mirrored with a new token", () -> ours().equals(theirs()));
        assertThat(cc.tokensIssued.get()).isEqualTo(issued + 1);
        assertThat(ours().get(G6).at("/globally_enabled/running").asBoolean()).isTrue();
    }

    @Test
    @Order(7)
    void theSecurityGroupApiIsReadOnlyWhileTheCloudControllerIsTheSource() throws Exception {
        String message = "security groups are synced from the Cloud Controller at " + cc.apiUrl() + " and are read-only here";
        String[][] writes = {{"POST", BASE, "{\"name\":\"x\"}", "GET"}, {"PATCH", BASE + "/" + G2, "{\"name\":\"x\"}", "GET"},
                {"DELETE", BASE + "/" + G2, null, "GET"},
                {"POST", BASE + "/" + G2 + "/relationships/running_spaces", "{\"data\":[{\"guid\":\"s\"}]}", ""},
                {"DELETE", BASE + "/" + G2 + "/relationships/running_spaces/space-1", null, ""}};
        for (String[] w : writes) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + server.port + w[1])).header("Authorization", "Bearer " + admin).header("Content-Type", "application/json")
                    .method(w[0], w[2] == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(w[2]))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(w[0] + " " + w[1]).isEqualTo(405);
            assertThat(JSON.readTree(r.body()).get("error").asText()).startsWith(message);
            assertThat(r.headers().firstValue("Allow")).as("Allow").hasValue(w[3]);
        }
        assertThat(ours()).as("nothing changed").isEqualTo(theirs());
        assertThat(server.call("GET", BASE + "/" + G2, admin, null).status()).isEqualTo(200);
        String writer = server.token("dev", "network.write");
        assertThat(server.call("POST", BASE, writer, "{\"name\":\"x\"}").status()).as("the scope first").isEqualTo(403);
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Our groups through our API: guid → name, globally_enabled, rules, spaces (sorted). */
    static Map<String, JsonNode> ours() throws Exception {
        var r = server.call("GET", BASE + "?per_page=5000", admin, null);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode g : JSON.readTree(r.body()).get("resources")) {
            List<String> running = new ArrayList<>();
            g.at("/relationships/running_spaces/data").forEach(d -> running.add(d.get("guid").asText()));
            List<String> staging = new ArrayList<>();
            g.at("/relationships/staging_spaces/data").forEach(d -> staging.add(d.get("guid").asText()));
            out.put(g.get("guid").asText(), comparable(g.get("name").asText(), g.get("globally_enabled"), g.get("rules"), running, staging));
        }
        return out;
    }

    /** The Cloud Controller's groups in the same form. */
    static Map<String, JsonNode> theirs() throws Exception {
        Map<String, JsonNode> out = new TreeMap<>();
        for (Group g : cc.groups()) {
            out.put(g.guid(), comparable(g.name(), JSON.createObjectNode().put("running", g.running()).put("staging", g.staging()),
                    JSON.readTree(g.rules()), g.runningSpaces(), g.stagingSpaces()));
        }
        return out;
    }

    static JsonNode comparable(String name, JsonNode enabled, JsonNode rules, List<String> running, List<String> staging) {
        var n = JSON.createObjectNode().put("name", name);
        n.set("globally_enabled", JSON.createObjectNode().put("running", enabled.get("running").asBoolean())
                .put("staging", enabled.get("staging").asBoolean()));
        n.set("rules", rules);
        n.set("running", JSON.valueToTree(running.stream().sorted().toList()));
        n.set("staging", JSON.valueToTree(staging.stream().sorted().toList()));
        return n;
    }

    /** Security-group events after the revision: "type KIND source". */
    static List<String> events(long after) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = server.db.connect(); ResultSet rs = c.createStatement().executeQuery(
                "SELECT policy_type, kind, source_id FROM policy_event WHERE revision > " + after
                        + " AND policy_type LIKE 'security_group%' ORDER BY revision")) {
            while (rs.next()) {
                out.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
            }
        }
        return out;
    }

    static long lastRevision() throws Exception {
        try (Connection c = server.db.connect(); ResultSet rs = c.createStatement().executeQuery(
                "SELECT coalesce(max(revision), 0) FROM policy_event")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A sample of /actuator/prometheus: the line starting with {@code series} (name and labels as printed). */
    static double metric(String series) throws Exception {
        var r = server.call("GET", "/actuator/prometheus", admin, null);
        assertThat(r.status()).isEqualTo(200);
        String name = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
        String label = series.contains("{") ? series.substring(series.indexOf('{') + 1, series.length() - 1) : null;
        for (String line : r.body().split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                if (label == null || line.contains(label)) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        throw new AssertionError("no " + series + " in /actuator/prometheus");
    }

    static void await(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.call()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for: " + what);
            }
            Thread.sleep(25);
        }
    }
}
