package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Application security groups end to end, dynamic: groups written with the CLI through the policy
 * server, streamed by the controller, enforced by the daemons on nftables. Containers are attached
 * exactly as Cloud Foundry's garden-external-networker attaches them (metadata with space and
 * workload, the runtime's netOutRules — which dynamic mode does not follow). Cell A hosts r1
 * (running, space-1), s1 (staging, space-1) and r2 (running, space-2); cell B hosts b1 (running,
 * space-1). Two outside hosts: ext (allowed by groups) and ext2 (a deny network).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(LabExtension.class)
class SecurityGroupsEndToEndTest {

    static final String A = "10.77.0.1";
    static final String B = "10.77.0.2";
    static final String EXT = "10.77.0.200";
    static final String EXT2 = "10.77.0.201";

    static Lab lab;
    static Silk silk;
    static String ctl;
    static String cellA;
    static String cellB;
    static String ext;
    static String ext2;
    static String r1;
    static String s1;
    static String r2;
    static String b1;
    static String ipR1;

    /** Attaches a container as garden-external-networker does: metadata, and netOutRules that allow everything. */
    static String attach(String cellNs, String cellIp, String container, String app, String space, String workload) {
        ObjectNode conf = CniRuntime.plugin("silk").put("daemonSocket", silk.socket(cellIp).toString());
        conf.putObject("metadata").put("policy_group_id", app).put("app_id", app).put("space_id", space)
                .put("org_id", "org-1").put("container_workload", workload);
        ObjectNode rule = conf.putObject("runtimeConfig").putArray("netOutRules").addObject().put("protocol", 0);
        rule.putArray("networks").addObject().put("start", "0.0.0.0").put("end", "255.255.255.255");
        JsonNode r = new CniRuntime(silk.cniBin(), cellNs).add(new CniRuntime.Network("cf", "1.0.0", List.of(conf)),
                "handle-" + container, Lab.netnsPath(container).toString(), "eth0", null);
        return r.get("ips").get(0).get("address").asText().replace("/32", "");
    }

    static boolean tcp(String from, String ip, int port) {
        return lab.in(from, "sh", "-c", "echo hi | nc -N -w2 " + ip + " " + port).ok();
    }

    static Lab.Result cli(String... args) {
        Lab.Result r = silk.cli(ctl, args);
        assertThat(r.ok()).as(String.join(" ", args) + ": " + r.output()).isTrue();
        return r;
    }

    static Path rules(String name, String json) throws Exception {
        Path f = lab.work().resolve(name + ".json");
        Files.writeString(f, json);
        return f;
    }

    @BeforeAll
    static void upTheLab(Lab made) throws Exception {
        lab = made;
        ctl = lab.host("ctl", Silk.CONTROLLER_IP);
        cellA = lab.host("cella", A);
        cellB = lab.host("cellb", B);
        ext = lab.host("ext", EXT);
        ext2 = lab.host("ext2", EXT2);
        silk = new Silk(lab, A, B);
        silk.controller(ctl, 7443, 9464, "controller", "--silk.controller.embedded-database.port=15432");
        silk.policyServer(ctl, 15432);
        String[] props = {"policy.enforce=true", "policy.log-denied=true", "policy.deny-networks.always=" + EXT2 + "/32"};
        Process da = silk.daemon(cellA, A, props);
        Process db = silk.daemon(cellB, B, props);
        silk.awaitHealthy(cellA, da, A);
        silk.awaitHealthy(cellB, db, B);
        silk.awaitWatching(cellA, A, true);
        silk.awaitWatching(cellB, B, true);
        r1 = lab.container("r1");
        s1 = lab.container("s1");
        r2 = lab.container("r2");
        b1 = lab.container("b1");
        ipR1 = attach(cellA, A, r1, "app-1", "space-1", "app");
        attach(cellA, A, s1, "app-1", "space-1", "staging");
        attach(cellA, A, r2, "app-2", "space-2", "app");
        attach(cellB, B, b1, "app-1", "space-1", "task");
        for (int port = 7001; port <= 7005; port++) {
            lab.spawn(ext, "ext-" + port, List.of("nc", "-lkvn", "-s", EXT, "-p", String.valueOf(port)));
            lab.awaitLog("ext-" + port, "Listening on");
        }
        lab.spawn(ext2, "ext2-7001", List.of("nc", "-lkvn", "-s", EXT2, "-p", "7001"));
        lab.awaitLog("ext2-7001", "Listening on");
    }

    @Test
    @Order(1)
    void withoutSecurityGroupsNothingLeavesEvenWithTheRuntimesNetOutRules() {
        assertThat(tcp(r1, EXT, 7001)).as("dynamic mode: the runtime's allow-all netOutRules do not count").isFalse();
        assertThat(tcp(s1, EXT, 7001)).isFalse();
        lab.awaitLog("daemon-" + A, "denied app=app-1(" + ipR1 + ") -> " + EXT
                + " tcp/7001: no security group or egress policy allows it");
    }

    @Test
    @Order(2)
    void eachContainerGetsItsSpacesGroupsForItsLifecycle() throws Exception {
        cli("create-security-group", "space-1-web", rules("space-1-web",
                "[{\"protocol\":\"tcp\",\"destination\":\"" + EXT + "\",\"ports\":\"7001\"},"
                        + "{\"protocol\":\"tcp\",\"destination\":\"" + EXT2 + "\",\"ports\":\"7001\"}]").toString());
        cli("bind-security-group", "space-1-web", "--space", "space-1");
        cli("create-security-group", "space-2-only", rules("space-2-only",
                "[{\"protocol\":\"tcp\",\"destination\":\"" + EXT + "\",\"ports\":\"7002\"}]").toString());
        cli("bind-security-group", "space-2-only", "--space", "space-2");
        cli("create-security-group", "staging-global", rules("staging-global",
                "[{\"protocol\":\"tcp\",\"destination\":\"" + EXT + "\",\"ports\":\"7003\"}]").toString());
        cli("bind-staging-security-group", "staging-global");

        Lab.await("space-1's running group on cell A", Duration.ofSeconds(10), () -> tcp(r1, EXT, 7001));
        Lab.await("space-1's running group on cell B (a task counts as running)", Duration.ofSeconds(10), () -> tcp(b1, EXT, 7001));
        Lab.await("the staging group", Duration.ofSeconds(10), () -> tcp(s1, EXT, 7003));
        Lab.await("space-2's group", Duration.ofSeconds(10), () -> tcp(r2, EXT, 7002));
        assertThat(tcp(r1, EXT, 7002)).as("running in space-1: not space-2's group").isFalse();
        assertThat(tcp(r1, EXT, 7003)).as("running: not the staging group").isFalse();
        assertThat(tcp(s1, EXT, 7001)).as("staging: not the space's running binding").isFalse();
        assertThat(tcp(r2, EXT, 7001)).as("space-2: not space-1's group").isFalse();
    }

    @Test
    @Order(3)
    void denyNetworksWinOverAnyAllow() {
        assertThat(tcp(r1, EXT, 7001)).isTrue();
        assertThat(tcp(r1, EXT2, 7001)).as("space-1's group allows ext2:7001, but ext2 is a deny network").isFalse();
    }

    @Test
    @Order(4)
    void aGroupBoundWhileContainersRunTakesEffectWithinASecond() throws Exception {
        cli("create-security-group", "late", rules("late",
                "[{\"protocol\":\"tcp\",\"destination\":\"" + EXT + "\",\"ports\":\"7005\"}]").toString());
        assertThat(tcp(r2, EXT, 7005)).isFalse();
        cli("bind-security-group", "late", "--space", "space-2");
        long millis = Lab.await("bound while running", Duration.ofSeconds(10), () -> tcp(r2, EXT, 7005));
        System.out.printf("security group bound -> enforced on the running container: %d ms (incl. probe)%n", millis);
        assertThat(millis).as("ms from the CLI's return to a working connection, incl. probing").isLessThan(1500);
        assertThat(tcp(r1, EXT, 7005)).as("another space").isFalse();

        cli("unbind-security-group", "late", "--space", "space-2");
        Lab.await("unbound while running", Duration.ofSeconds(10), () -> !tcp(r2, EXT, 7005));
        cli("update-security-group", "space-1-web", rules("space-1-web-2",
                "[{\"protocol\":\"tcp\",\"destination\":\"" + EXT + "\",\"ports\":\"7002\"}]").toString());
        Lab.await("rules edited while running", Duration.ofSeconds(10), () -> tcp(r1, EXT, 7002) && !tcp(r1, EXT, 7001));
        Lab.await("on the other cell too", Duration.ofSeconds(10), () -> tcp(b1, EXT, 7002) && !tcp(b1, EXT, 7001));
    }

    @Test
    @Order(5)
    void deletingAGroupTakesItsRulesAway() throws Exception {
        cli("delete-security-group", "space-2-only");
        Lab.await("group deleted", Duration.ofSeconds(10), () -> !tcp(r2, EXT, 7002));
        assertThat(tcp(r1, EXT, 7002)).as("space-1's group untouched").isTrue();
    }
}
