package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Application security groups on the external API, in the Cloud Controller v3 shape: their
 * lifecycle, cf's rule validation, filters and pagination, and the policy-log events that carry
 * each change to cells (the rules parsed into ranges).
 */
class SecurityGroupApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "/networking/v1/external/security_groups";
    static PolicyServerHarness server;
    static String admin;

    @BeforeAll
    static void start() throws Exception {
        server = new PolicyServerHarness();
        admin = server.token("admin", "network.admin");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static JsonNode ok(int status, PolicyServerHarness.Reply r) throws Exception {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        return r.body() == null || r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    /** The policy-log events of security groups and bindings after revision {@code after}: type kind source detail. */
    static List<String[]> events(long after) throws Exception {
        List<String[]> out = new ArrayList<>();
        try (Connection c = server.db.connect(); ResultSet rs = c.createStatement().executeQuery(
                "SELECT revision, policy_type, kind, source_id, detail::text FROM policy_event WHERE revision > " + after
                        + " AND policy_type LIKE 'security_group%' ORDER BY revision")) {
            while (rs.next()) {
                out.add(new String[] {rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(1)});
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

    @Test
    void aGroupsLifecycleInTheCloudControllersShapeWithItsEvents() throws Exception {
        long before = lastRevision();
        JsonNode g = ok(201, server.call("POST", BASE, admin, """
                {"name": "public-https",
                 "rules": [{"protocol": "tcp", "destination": "10.0.11.0/24,10.0.0.1-10.0.0.9", "ports": "443,8080-8090",
                            "description": "web", "log": true},
                           {"protocol": "icmp", "destination": "192.168.0.7", "type": 8, "code": -1}],
                 "globally_enabled": {"running": true},
                 "relationships": {"staging_spaces": {"data": [{"guid": "space-s"}]}}}
                """));
        String guid = g.get("guid").asText();
        assertThat(guid).matches("[0-9a-f-]{36}");
        assertThat(g.get("name").asText()).isEqualTo("public-https");
        assertThat(g.at("/globally_enabled/running").asBoolean()).isTrue();
        assertThat(g.at("/globally_enabled/staging").asBoolean()).isFalse();
        assertThat(g.at("/rules/0/ports").asText()).isEqualTo("443,8080-8090");
        assertThat(g.at("/rules/0/log").asBoolean()).isTrue();
        assertThat(g.at("/rules/1/type").asInt()).isEqualTo(8);
        assertThat(g.at("/relationships/staging_spaces/data/0/guid").asText()).isEqualTo("space-s");
        assertThat(g.at("/relationships/running_spaces/data")).isEmpty();
        assertThat(g.at("/links/self/href").asText()).isEqualTo(BASE + "/" + guid);
        assertThat(g.get("created_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");

        // The group's event carries its rules parsed into ranges; the binding is an event of its own.
        List<String[]> created = events(before);
        assertThat(created).hasSize(2);
        assertThat(created.get(0)[0]).isEqualTo("security_group");
        JsonNode detail = JSON.readTree(created.get(0)[3]);
        assertThat(detail.get("guid").asText()).isEqualTo(guid);
        assertThat(detail.get("running_default").asBoolean()).isTrue();
        JsonNode tcp = detail.at("/entries/0");
        assertThat(tcp.get("protocol").asText()).isEqualTo("tcp");
        assertThat(tcp.get("destinations")).isEqualTo(JSON.readTree(
                "[{\"start\":\"10.0.11.0\",\"end\":\"10.0.11.255\"},{\"start\":\"10.0.0.1\",\"end\":\"10.0.0.9\"}]"));
        assertThat(tcp.get("ports")).isEqualTo(JSON.readTree("[{\"start\":443,\"end\":443},{\"start\":8080,\"end\":8090}]"));
        assertThat(tcp.get("log").asBoolean()).isTrue();
        assertThat(detail.at("/entries/1/icmp_type").asInt()).isEqualTo(8);
        assertThat(detail.at("/entries/1/icmp_code").asInt()).isEqualTo(-1);
        assertThat(created.get(1)).startsWith("security_group_binding", "CREATED", "space-s");
        assertThat(JSON.readTree(created.get(1)[3]).get("lifecycle").asText()).isEqualTo("staging");

        // Bind for running: the relationship lists every bound space; binding again changes nothing.
        long bound = lastRevision();
        JsonNode running = ok(200, server.call("POST", BASE + "/" + guid + "/relationships/running_spaces", admin,
                "{\"data\":[{\"guid\":\"space-b\"},{\"guid\":\"space-a\"}]}"));
        assertThat(running.get("data").toString()).isEqualTo("[{\"guid\":\"space-a\"},{\"guid\":\"space-b\"}]");
        ok(200, server.call("POST", BASE + "/" + guid + "/relationships/running_spaces", admin, "{\"data\":[{\"guid\":\"space-a\"}]}"));
        assertThat(events(bound)).hasSize(2);

        // Update: name and rules replaced, the running flag kept; an identical update writes no event.
        JsonNode updated = ok(200, server.call("PATCH", BASE + "/" + guid, admin,
                "{\"name\":\"public-https-2\",\"rules\":[{\"protocol\":\"all\",\"destination\":\"0.0.0.0/0\"}],"
                        + "\"globally_enabled\":{\"staging\":true}}"));
        assertThat(updated.get("name").asText()).isEqualTo("public-https-2");
        assertThat(updated.at("/globally_enabled/running").asBoolean()).isTrue();
        assertThat(updated.at("/globally_enabled/staging").asBoolean()).isTrue();
        assertThat(updated.get("rules")).hasSize(1);
        long afterUpdate = lastRevision();
        ok(200, server.call("PATCH", BASE + "/" + guid, admin, "{\"name\":\"public-https-2\"}"));
        assertThat(events(afterUpdate)).as("nothing changed, nothing sent").isEmpty();
        assertThat(ok(200, server.call("GET", BASE + "/" + guid, admin, null)).at("/rules/0/destination").asText())
                .isEqualTo("0.0.0.0/0");

        // Unbind one space, then delete: every binding and the group end with DELETED events.
        ok(204, server.call("DELETE", BASE + "/" + guid + "/relationships/running_spaces/space-a", admin, null));
        assertThat(server.call("DELETE", BASE + "/" + guid + "/relationships/running_spaces/space-a", admin, null).status())
                .as("not bound any more").isEqualTo(422);
        long beforeDelete = lastRevision();
        ok(204, server.call("DELETE", BASE + "/" + guid, admin, null));
        List<String[]> deleted = events(beforeDelete);
        assertThat(deleted).extracting(e -> e[0] + " " + e[1] + " " + e[2]).containsExactlyInAnyOrder(
                "security_group_binding DELETED space-b", "security_group_binding DELETED space-s",
                "security_group DELETED " + guid);
        assertThat(deleted.getLast()[0]).as("the group goes after its bindings").isEqualTo("security_group");
        assertThat(server.call("GET", BASE + "/" + guid, admin, null).status()).isEqualTo(404);
        assertThat(server.call("DELETE", BASE + "/" + guid, admin, null).status()).isEqualTo(404);
    }

    @Test
    void rulesAreCheckedAsTheCloudControllerChecksThem() throws Exception {
        String[][] bad = {
                {"{\"protocol\":\"tcp\",\"destination\":\"10.0.0.0/8\"}", "rules[0]: ports are required"},
                {"{\"protocol\":\"sctp\",\"destination\":\"10.0.0.0/8\"}", "protocol must be tcp, udp, icmp or all, not \"sctp\""},
                {"{\"protocol\":\"udp\",\"destination\":\"10.0.0.300\",\"ports\":\"53\"}", "destination \"10.0.0.300\" is not"},
                {"{\"protocol\":\"udp\",\"destination\":\"10.0.0.9-10.0.0.1\",\"ports\":\"53\"}", "ends before it starts"},
                {"{\"protocol\":\"tcp\",\"destination\":\"10.0.0.1\",\"ports\":\"0\"}", "are not ports 1 to 65535"},
                {"{\"protocol\":\"tcp\",\"destination\":\"10.0.0.1\",\"ports\":\"80\",\"type\":1,\"code\":1}", "only for icmp"},
                {"{\"protocol\":\"icmp\",\"destination\":\"10.0.0.1\"}", "type and code are required for icmp"},
                {"{\"protocol\":\"icmp\",\"destination\":\"10.0.0.1\",\"type\":256,\"code\":0}", "type must be an integer"},
                {"{\"protocol\":\"all\",\"destination\":\"10.0.0.1\",\"ports\":\"80\"}", "protocol all takes no ports"},
                {"{\"protocol\":\"all\",\"destination\":\"10.0.0.1\",\"colour\":\"red\"}", "unknown field(s): \"colour\""},
                {"{\"protocol\":\"all\",\"destination\":\"10.0.0.1\",\"log\":\"yes\"}", "log must be a boolean"},
        };
        long before = lastRevision();
        for (String[] b : bad) {
            var r = server.call("POST", BASE, admin, "{\"name\":\"bad\",\"rules\":[" + b[0] + "]}");
            assertThat(r.status()).as(b[0]).isEqualTo(422);
            assertThat(JSON.readTree(r.body()).get("error").asText()).as(b[0]).contains(b[1]);
        }
        assertThat(server.call("POST", BASE, admin, "{\"rules\":[]}").status()).as("no name").isEqualTo(422);
        assertThat(server.call("POST", BASE, admin, "[]").status()).isEqualTo(400);
        assertThat(events(before)).as("nothing written").isEmpty();

        ok(201, server.call("POST", BASE, admin, "{\"name\":\"unique-name\"}"));
        var clash = server.call("POST", BASE, admin, "{\"name\":\"unique-name\"}");
        assertThat(clash.status()).isEqualTo(422);
        assertThat(clash.body()).contains("Security group with name 'unique-name' already exists.");
    }

    @Test
    void filtersAndPaginationAsTheCloudControllerListsThem() throws Exception {
        List<String> guids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            guids.add(ok(201, server.call("POST", BASE, admin, "{\"name\":\"paged-" + i + "\",\"globally_enabled\":{\"staging\":"
                    + (i == 3) + "},\"relationships\":{\"running_spaces\":{\"data\":[{\"guid\":\"space-p" + (i % 2) + "\"}]}}}"))
                    .get("guid").asText());
        }
        JsonNode page = ok(200, server.call("GET", BASE + "?names=paged-0,paged-1,paged-2,paged-3,paged-4&per_page=2&page=2", admin, null));
        assertThat(page.at("/pagination/total_results").asInt()).isEqualTo(5);
        assertThat(page.at("/pagination/total_pages").asInt()).isEqualTo(3);
        assertThat(page.get("resources")).extracting(r -> r.get("name").asText()).containsExactly("paged-2", "paged-3");
        assertThat(page.at("/pagination/next/href").asText()).contains("page=3", "per_page=2", "names=");
        assertThat(page.at("/pagination/previous/href").asText()).contains("page=1");
        assertThat(ok(200, server.call("GET", BASE + "?running_space_guids=space-p1", admin, null)).get("resources"))
                .extracting(r -> r.get("name").asText()).containsExactly("paged-1", "paged-3");
        assertThat(ok(200, server.call("GET", BASE + "?globally_enabled_staging=true&names=paged-3,paged-4", admin, null))
                .get("resources")).extracting(r -> r.get("name").asText()).containsExactly("paged-3");
        assertThat(ok(200, server.call("GET", BASE + "?guids=" + guids.get(4), admin, null)).get("resources"))
                .extracting(r -> r.get("name").asText()).containsExactly("paged-4");
        assertThat(server.call("GET", BASE + "?colour=red", admin, null).status()).isEqualTo(400);
    }

    @Test
    void onlyNetworkAdmins() throws Exception {
        String writer = server.token("dev", "network.write");
        var r = server.call("POST", BASE, writer, "{\"name\":\"nope\"}");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body()).contains("network.admin");
        assertThat(server.call("GET", BASE, writer, null).status()).isEqualTo(403);
        assertThat(server.call("GET", BASE, null, null).status()).isEqualTo(401);
    }
}
