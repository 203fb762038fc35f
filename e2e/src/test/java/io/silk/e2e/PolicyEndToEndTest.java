package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Network policy end to end: the CLI writes through the policy server, the controller streams to
 * the cells, the daemons program the kernel (nftables here, iptables in
 * {@link PolicyEndToEndIptablesTest}, which runs every test below again), and the kernel decides.
 * Cell A hosts a1 (app-a) and a2 (app-b); cell B hosts b1 (app-b); an outside host sits on the
 * underlay.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(LabExtension.class)
class PolicyEndToEndTest {

    static final String A = "10.77.0.1";
    static final String B = "10.77.0.2";
    static final String OUTSIDE = "10.77.0.200";

    static Lab lab;
    static Silk silk;
    static String ctl;
    static String a1;
    static String a2;
    static String b1;
    static String ext;
    static String ipA1;
    static String ipA2;
    static String ipB1;
    static String cellA;
    static String cellB;
    static Process daemonA;
    /** The daemons' policy backend: the class under test says which. */
    static String backend;

    static String backendOf(Class<?> testClass) {
        return testClass == PolicyEndToEndIptablesTest.class ? "iptables" : "nftables";
    }

    static String attach(String cellNs, String cellIp, String container, String app) {
        JsonNode r = new CniRuntime(silk.cniBin(), cellNs).add(new CniRuntime.Network("silk", "1.0.0",
                List.of(CniRuntime.plugin("silk").put("daemonSocket", silk.socket(cellIp).toString()))),
                "ctr-" + container, Lab.netnsPath(container).toString(), "eth0", "SILK_APP_ID=" + app);
        return r.get("ips").get(0).get("address").asText().replace("/32", "");
    }

    static boolean tcp(String from, String ip, int port) {
        return lab.in(from, "sh", "-c", "echo hi | nc -N -w2 " + ip + " " + port).ok();
    }

    /** A TCP server (nc) that has bound its port when this returns. */
    static Process serve(String ns, String ip, int port, String log) throws Exception {
        Process p = lab.spawn(ns, log, List.of("nc", "-lkvn", "-s", ip, "-p", String.valueOf(port)));
        lab.awaitLog(log, "Listening on");
        return p;
    }

    @BeforeAll
    static void upTheLab(Lab made, org.junit.jupiter.api.TestInfo info) throws Exception {
        lab = made;
        backend = backendOf(info.getTestClass().orElseThrow());
        ctl = lab.host("ctl", Silk.CONTROLLER_IP);
        cellA = lab.host("cella", A);
        cellB = lab.host("cellb", B);
        ext = lab.host("ext", OUTSIDE);
        silk = new Silk(lab, A, B);
        silk.controller(ctl, 7443, 9464, "controller", "--silk.controller.embedded-database.port=15432");
        silk.policyServer(ctl, 15432);
        Process da = silk.daemon(cellA, A, "policy.enforce=true", "policy.backend=" + backend, "policy.log-denied=true");
        daemonA = da;
        Process db = silk.daemon(cellB, B, "policy.enforce=true", "policy.backend=" + backend, "policy.log-denied=true");
        silk.awaitHealthy(cellA, da, A);
        silk.awaitHealthy(cellB, db, B);
        // Routes to each other and the policy snapshot first: the tests then change policies and
        // expect the cells to see each change as it is made.
        silk.awaitWatching(cellA, A, true);
        silk.awaitWatching(cellB, B, true);
        a1 = lab.container("a1");
        a2 = lab.container("a2");
        b1 = lab.container("b1");
        ipA1 = attach(cellA, A, a1, "app-a");
        ipA2 = attach(cellA, A, a2, "app-b");
        ipB1 = attach(cellB, B, b1, "app-b");
        for (String[] s : new String[][] {{b1, ipB1}, {a2, ipA2}}) {
            serve(s[0], s[1], 8080, "tcp8080-" + s[0]);
            serve(s[0], s[1], 8081, "tcp8081-" + s[0]);
        }
        lab.spawn(b1, "udp8080", List.of("nc", "-lkuvn", "-s", ipB1, "-p", "8080"));
        lab.awaitLog("udp8080", "Bound on");
        serve(ext, OUTSIDE, 9999, "outside");
    }

    @Test
    @Order(1)
    void withoutAPolicyAppACannotReachAppB() {
        assertThat(tcp(a1, ipB1, 8080)).as("across cells").isFalse();
        assertThat(tcp(a1, ipA2, 8080)).as("on the same cell").isFalse();
        assertThat(lab.in(a1, "sh", "-c", "echo hi | nc -N -w2 " + OUTSIDE + " 9999").ok()).as("egress").isFalse();
    }

    @Test
    @Order(2)
    void aPolicyOpensExactlyItsProtocolAndPort() throws Exception {
        var added = silk.cli(ctl, "add-network-policy", "app-a", "--destination-app", "app-b", "--port", "8080");
        assertThat(added.ok()).as(added.output()).isTrue();
        long millis = Lab.await("policy working across cells", Duration.ofSeconds(10), () -> tcp(a1, ipB1, 8080));
        assertThat(millis).as("ms from the CLI's return to a working connection (incl. probe time)").isLessThan(3000);
        assertThat(tcp(a1, ipA2, 8080)).as("same cell").isTrue();
        assertThat(tcp(a1, ipB1, 8081)).as("another port").isFalse();
        lab.in(a1, "sh", "-c", "echo udp-probe | nc -u -w1 " + ipB1 + " 8080");
        Thread.sleep(300);
        assertThat(Files.readString(lab.work().resolve("udp8080.log"))).as("udp").doesNotContain("udp-probe");
        assertThat(tcp(b1, ipA1, 8080)).as("the reverse direction needs its own policy").isFalse();
        assertThat(silk.cli(ctl, "network-policies").output()).containsPattern("app-a\\s+app-b\\s+tcp\\s+8080");
    }

    @Test
    @Order(3)
    void anEstablishedConnectionSurvivesUnrelatedPolicyChanges() throws Exception {
        Process client = new ProcessBuilder("ip", "netns", "exec", a1, "sh", "-c",
                "(echo first-line; sleep 3; echo second-line) | nc -N -w5 " + ipB1 + " 8080").start();
        // The connection is established once b1 has its first line; then the policies change.
        lab.awaitLog("tcp8080-" + b1, "first-line");
        assertThat(silk.cli(ctl, "add-network-policy", "app-x", "--destination-app", "app-y", "--port", "80").ok()).isTrue();
        assertThat(silk.cli(ctl, "add-network-policy", "app-b", "--destination-app", "app-a", "--port", "9000").ok()).isTrue();
        assertThat(client.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(client.exitValue()).isZero();
        String seen = Files.readString(lab.work().resolve("tcp8080-" + b1 + ".log"));
        assertThat(seen).contains("first-line", "second-line");
    }

    @Test
    @Order(4)
    void aRestartedDaemonKeepsAndRebuildsTheRules() throws Exception {
        lab.stop(daemonA, true);
        assertThat(tcp(a1, ipA2, 8080)).as("rules stay in the kernel while the daemon is down").isTrue();
        daemonA = silk.daemon(cellA, A, "policy.enforce=true", "policy.backend=" + backend, "policy.log-denied=true");
        silk.awaitHealthy(cellA, daemonA, A);
        silk.awaitWatching(cellA, A, true);
        assertThat(tcp(a1, ipA2, 8080)).as("allowed after the restart").isTrue();
        assertThat(tcp(a1, ipA2, 8081)).as("still denied after the restart").isFalse();
    }

    @Test
    @Order(5)
    void removingThePolicyClosesItAgain() {
        assertThat(silk.cli(ctl, "remove-network-policy", "app-a", "--destination-app", "app-b", "--protocol", "tcp",
                "--port", "8080").ok()).isTrue();
        // Each cell applies the removal from its own watch: B for a1 -> b1, A for a1 -> a2.
        Lab.await("policy gone on both cells", Duration.ofSeconds(10), () -> !tcp(a1, ipB1, 8080) && !tcp(a1, ipA2, 8080));
    }

    @Test
    @Order(6)
    void egressOnlyWithAnEgressPolicyAndMasqueradedToTheCell() throws Exception {
        var added = silk.cli(ctl, "add-egress-policy", "app-a", "--destination", OUTSIDE, "--port", "9999");
        assertThat(added.ok()).as(added.output()).isTrue();
        Lab.await("egress allowed", Duration.ofSeconds(10),
                () -> lab.in(a1, "sh", "-c", "echo out | nc -N -w2 " + OUTSIDE + " 9999").ok());
        String seen = Files.readString(lab.work().resolve("outside.log"));
        assertThat(seen).contains("Connection received on " + A + " ").doesNotContain(ipA1);
        assertThat(lab.in(a2, "sh", "-c", "echo out | nc -N -w2 " + OUTSIDE + " 9999").ok()).as("app-b has no egress").isFalse();
    }

    @Test
    @Order(7)
    void aDeniedPacketIsLoggedNamingBothAppsCountedAndShownBySilkFlows() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(backend.equals("nftables"), "verdicts are read from nftables' NFLOG");
        assertThat(tcp(a1, ipB1, 8081)).isFalse();
        String line = "denied app=app-a(" + ipA1 + ") -> app=app-b(" + ipB1 + ") tcp/8081: no policy allows it";
        lab.awaitLog("daemon-" + B, line);
        String metrics = lab.in(cellB, "curl", "-sS", "http://127.0.0.1:9465/metrics").output();
        assertThat(metrics).containsPattern("silk_policy_verdict_packets_total\\{destination_app=\"app-b\",direction=\"ingress\","
                + "source_app=\"app-a\",verdict=\"denied\"} [1-9]");
        var flows = lab.in(cellB, Lab.JAVA, "-jar", Lab.ROOT.resolve("cli/target/silk.jar").toString(), "flows",
                "--cell", "127.0.0.1:9465", "--denied");
        assertThat(flows.output()).as(flows.output()).contains("DENIED", "app=app-a(" + ipA1 + ") -> app=app-b(" + ipB1 + ")",
                "tcp/8081", "no policy allows it");
        // Egress without a policy: named on the source's cell.
        assertThat(lab.in(a2, "sh", "-c", "echo out | nc -N -w2 " + OUTSIDE + " 9999").ok()).isFalse();
        lab.awaitLog("daemon-" + A, "denied app=app-b(" + ipA2 + ") -> " + OUTSIDE + " tcp/9999: no security group or egress policy allows it");
    }

    /** Attaches a container of app-d the way Cloud Foundry's garden-external-networker does (metadata, CF port mappings). */
    static String attachLikeCloudFoundry(String container, int hostPort, List<com.fasterxml.jackson.databind.node.ObjectNode> chained)
            throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode silkConf = CniRuntime.plugin("silk").put("daemonSocket", silk.socket(B).toString());
        silkConf.putObject("metadata").put("policy_group_id", "app-d").put("app_id", "app-d").put("space_id", "space-1")
                .put("org_id", "org-1").put("container_workload", "app");
        if (hostPort > 0) {
            silkConf.putObject("runtimeConfig").putArray("portMappings").addObject().put("host_port", hostPort).put("container_port", 8080);
        }
        List<com.fasterxml.jackson.databind.node.ObjectNode> plugins = new java.util.ArrayList<>(List.of(silkConf));
        plugins.addAll(chained);
        JsonNode r = new CniRuntime(silk.cniBin(), cellB).add(new CniRuntime.Network("cf", "1.0.0", plugins),
                "instance-guid-" + container, Lab.netnsPath(container).toString(), "eth0", null);
        return r.get("ips").get(0).get("address").asText().replace("/32", "");
    }

    @Test
    @Order(8)
    void theRouterReachesAnAppThroughItsPortMappingWithEnforcementOn() throws Exception {
        // The native port mapping (nftables backend): the cell's 61001 DNAT'ed to the container's 8080.
        String d1 = lab.container("d1");
        String ipD1 = attachLikeCloudFoundry(d1, backend.equals("nftables") ? 61001 : 0, List.of());
        serve(d1, ipD1, 8080, "tcp8080-" + d1);
        if (backend.equals("nftables")) {
            // The mapping is programmed just after the ADD answers (off the container-start path).
            Lab.await("the router through the cell's port 61001", Duration.ofSeconds(10),
                    () -> lab.in(ext, "sh", "-c", "echo via-router | nc -N -w2 " + B + " 61001").ok());
            lab.awaitLog("tcp8080-" + d1, "via-router");
        }
        assertThat(tcp(a1, ipD1, 8080)).as("C2C traffic to app-d still needs a policy").isFalse();
        assertThat(Files.readString(silk.cellDir(B).resolve("state/containers.json")))
                .contains("\"appId\" : \"app-d\"", "\"spaceId\" : \"space-1\"", "\"orgId\" : \"org-1\"", "\"workload\" : \"app\"");

        // A chained portmap (either backend): its DNAT in iptables' nat table, our default deny untouched.
        String d2 = lab.container("d2");
        com.fasterxml.jackson.databind.node.ObjectNode portmap = CniRuntime.plugin("portmap");
        portmap.putObject("capabilities").put("portMappings", true);
        portmap.putObject("runtimeConfig").putArray("portMappings").addObject().put("hostPort", 61002).put("containerPort", 8080)
                .put("protocol", "tcp");
        String ipD2 = attachLikeCloudFoundry(d2, 0, List.of(portmap));
        serve(d2, ipD2, 8080, "tcp8080-" + d2);
        assertThat(lab.in(ext, "sh", "-c", "echo via-portmap | nc -N -w2 " + B + " 61002").ok())
                .as("the router through portmap's 61002").isTrue();
        lab.awaitLog("tcp8080-" + d2, "via-portmap");
        assertThat(tcp(a1, ipD2, 8080)).isFalse();
    }
}
