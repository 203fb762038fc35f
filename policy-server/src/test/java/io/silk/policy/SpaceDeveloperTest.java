package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * cf's rule for network.write callers with a Cloud Controller configured (a stand-in, {@link
 * FakeCloudController}: the real one cannot run here): they create, list and delete only policies
 * whose source and destination apps are in spaces where they are space developers; network.admin
 * is unrestricted and never waits on the Cloud Controller.
 *
 * <p>Apps: a and b in space-1, c in space-2, d in space-3. dev-1 develops in space-1 and space-2
 * and only audits space-3; dev-3 develops in space-3 only.
 */
class SpaceDeveloperTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "/networking/v1/external";
    static final String REFUSED = "{\"error\":\"one or more applications cannot be found or accessed\"}";

    static FakeCloudController cc;
    static PolicyServerHarness server;
    static String admin;
    static String dev1;
    static String dev3;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.make();
        cc = new FakeCloudController(pki);
        cc.app("app-a", "space-1");
        cc.app("app-b", "space-1");
        cc.app("app-c", "space-2");
        cc.app("app-d", "space-3");
        cc.role("user-dev-1", "space-1", "space_developer");
        cc.role("user-dev-1", "space-2", "space_developer");
        cc.role("user-dev-1", "space-3", "space_auditor");
        cc.role("user-dev-3", "space-3", "space_developer");
        List<String> args = new ArrayList<>(cc.settings(pki));
        args.add("silk.policy-server.cloud-controller.sync-security-groups=false");
        server = new PolicyServerHarness(args.toArray(String[]::new));
        admin = server.token("admin", "network.admin");
        dev1 = server.token("user-dev-1", "network.write");
        dev3 = server.token("user-dev-3", "network.write");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        cc.close();
    }

    static String policy(String src, String dst, int port) {
        return "{\"source\":{\"id\":\"" + src + "\"},\"destination\":{\"id\":\"" + dst + "\",\"protocol\":\"tcp\",\"ports\":{\"start\":"
                + port + ",\"end\":" + port + "}}}";
    }

    static String policies(String... p) {
        return "{\"policies\":[" + String.join(",", p) + "]}";
    }

    /** "src>dst:port" of every policy the caller sees with this query. */
    static List<String> list(String token, String query) throws Exception {
        var r = server.call("GET", BASE + "/policies" + query, token, null);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        List<String> out = new ArrayList<>();
        body.get("policies").forEach(p -> out.add(p.at("/source/id").asText() + ">" + p.at("/destination/id").asText() + ":"
                + p.at("/destination/ports/start").asInt()));
        assertThat(body.get("total_policies").asInt()).isEqualTo(out.size());
        return out;
    }

    @Test
    void aSpaceDeveloperCreatesListsAndDeletesPoliciesBetweenAppsOfTheirSpacesOnly() throws Exception {
        assertThat(server.call("POST", BASE + "/policies", dev1, policies(policy("app-a", "app-b", 8001),
                policy("app-a", "app-c", 8001))).status()).as("space-1 → space-1 and space-1 → space-2").isEqualTo(200);
        assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("app-a", "app-d", 8001),
                policy("app-d", "app-d", 8001))).status()).as("admins: anywhere").isEqualTo(200);

        // Refused, in cf's words, and nothing written: another space's app (auditor is not developer), an unknown app,
        // one bad policy among good ones.
        for (String body : List.of(policies(policy("app-a", "app-d", 8002)), policies(policy("app-d", "app-a", 8002)),
                policies(policy("app-a", "app-unknown", 8002)), policies(policy("app-a", "app-b", 8002), policy("app-c", "app-d", 8002)))) {
            var r = server.call("POST", BASE + "/policies", dev1, body);
            assertThat(r.status()).as(body).isEqualTo(403);
            assertThat(r.body()).isEqualTo(REFUSED);
        }
        assertThat(list(admin, "?id=app-a,app-b,app-c,app-d")).containsExactlyInAnyOrder("app-a>app-b:8001", "app-a>app-c:8001",
                "app-a>app-d:8001", "app-d>app-d:8001");

        // Listing: only policies with both apps in the caller's spaces, with or without filters; admins see all.
        assertThat(list(dev1, "")).containsExactlyInAnyOrder("app-a>app-b:8001", "app-a>app-c:8001");
        assertThat(list(dev1, "?id=app-a")).containsExactlyInAnyOrder("app-a>app-b:8001", "app-a>app-c:8001");
        assertThat(list(dev1, "?dest_id=app-d")).isEmpty();
        assertThat(list(dev3, "")).containsExactly("app-d>app-d:8001");
        assertThat(list(admin, "?source_id=app-a")).hasSize(3);

        // Deleting: the same rule; a refused delete deletes nothing of the request.
        var refused = server.call("POST", BASE + "/policies/delete", dev1, policies(policy("app-a", "app-b", 8001),
                policy("app-a", "app-d", 8001)));
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.body()).isEqualTo(REFUSED);
        assertThat(list(admin, "?source_id=app-a")).hasSize(3);
        assertThat(server.call("POST", BASE + "/policies/delete", dev3, policies(policy("app-a", "app-b", 8001))).status())
                .as("dev-3 does not develop in space-1").isEqualTo(403);
        assertThat(server.call("POST", BASE + "/policies/delete", dev1, policies(policy("app-a", "app-b", 8001))).status())
                .isEqualTo(200);
        assertThat(list(admin, "?source_id=app-a")).containsExactlyInAnyOrder("app-a>app-c:8001", "app-a>app-d:8001");

        // The roles were asked for the caller, in the apps' spaces only, with the client's token.
        assertThat(cc.requests()).anyMatch(r -> r.startsWith("GET /v3/roles?types=space_developer&user_guids=user-dev-1&space_guids="));
        assertThat(cc.requests()).anyMatch(r -> r.startsWith("GET /v3/apps?guids="));
    }

    @Test
    void adminsNeverWaitOnTheCloudController() throws Exception {
        long asked = cc.requests().size();
        assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("adm-x", "adm-y", 9000))).status()).isEqualTo(200);
        assertThat(list(admin, "?id=adm-x")).containsExactly("adm-x>adm-y:9000");
        assertThat(server.call("POST", BASE + "/policies/delete", admin, policies(policy("adm-x", "adm-y", 9000))).status())
                .isEqualTo(200);
        assertThat(cc.requests()).as("no Cloud Controller call for an admin").hasSize((int) asked);
    }

    @Test
    void whenTheCloudControllerCannotTellNetworkWriteCallersAreRefusedAndAdminsAreNot() throws Exception {
        cc.down = true;
        try {
            var create = server.call("POST", BASE + "/policies", dev1, policies(policy("app-a", "app-b", 8500)));
            assertThat(create.status()).isEqualTo(500);
            assertThat(create.body()).isEqualTo("{\"error\":\"check access failed\"}");
            var delete = server.call("POST", BASE + "/policies/delete", dev1, policies(policy("app-a", "app-b", 8500)));
            assertThat(delete.body()).isEqualTo("{\"error\":\"check access failed\"}");
            assertThat(server.call("POST", BASE + "/policies", admin, policies(policy("down-a", "down-b", 8500))).status()).isEqualTo(200);
            var listed = server.call("GET", BASE + "/policies?id=down-a", dev1, null);
            assertThat(listed.status()).isEqualTo(500);
            assertThat(listed.body()).isEqualTo("{\"error\":\"filter policies failed\"}");
            assertThat(list(admin, "?id=down-a")).containsExactly("down-a>down-b:8500");
        } finally {
            cc.down = false;
        }
        assertThat(list(dev1, "?id=down-a")).as("apps the Cloud Controller does not know are nobody's").isEmpty();
    }

    @Test
    void badRequestsAreRefusedAsBeforeWithoutAskingTheCloudController() throws Exception {
        long asked = cc.requests().size();
        var r = server.call("POST", BASE + "/policies", dev1, "{\"policies\":[{\"source\":{\"id\":\"app-a\"}}]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("mapper: validate policies: missing destination id");
        assertThat(cc.requests()).hasSize((int) asked);
    }

    @Test
    void withoutTheSyncerOurSecurityGroupApiStaysWritable() throws Exception {
        var r = server.call("POST", BASE + "/security_groups", admin, "{\"name\":\"ours-while-not-synced\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(cc.count("GET /internal/v4/asg_latest_update")).as("no syncer").isZero();
    }
}
