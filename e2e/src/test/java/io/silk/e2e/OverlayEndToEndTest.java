package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Cells as network namespaces on an underlay bridge, the controller and its database in a
 * namespace of their own, containers attached by the CNI plugin as a runtime would: the overlay
 * end to end, through real processes and the real kernel.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(LabExtension.class)
class OverlayEndToEndTest {

    static final String A = "10.77.0.1";
    static final String B = "10.77.0.2";
    static final String C = "10.77.0.3";

    static Lab lab;
    static Silk silk;
    static String ctlNs;
    static String cellA;
    static String cellB;
    static Process controller;
    static Process daemonA;
    static Process daemonB;
    static String a1;
    static String b1;
    static String ipA1;
    static String ipB1;

    static CniRuntime.Network network(String socket, ObjectNode... chained) {
        ObjectNode silkConf = CniRuntime.plugin("silk").put("daemonSocket", socket);
        List<ObjectNode> plugins = new java.util.ArrayList<>(List.of(silkConf));
        plugins.addAll(List.of(chained));
        return new CniRuntime.Network("silk-e2e", "1.0.0", plugins);
    }

    static String ip(JsonNode result) {
        String cidr = result.get("ips").get(0).get("address").asText();
        return cidr.substring(0, cidr.indexOf('/'));
    }

    @BeforeAll
    static void upTheLab(Lab made) throws Exception {
        lab = made;
        ctlNs = lab.host("ctl", Silk.CONTROLLER_IP);
        cellA = lab.host("cella", A);
        cellB = lab.host("cellb", B);
        silk = new Silk(lab, A, B, C);
        controller = silk.controller(ctlNs);
        daemonA = silk.daemon(cellA, A);
        daemonB = silk.daemon(cellB, B);
        silk.awaitHealthy(cellA, daemonA, A);
        silk.awaitHealthy(cellB, daemonB, B);
        // The tests below time how fast changes reach A and B: their watches must be open first.
        silk.awaitWatching(cellA, A, false);
        silk.awaitWatching(cellB, B, false);

        a1 = lab.container("a1");
        b1 = lab.container("b1");
        ipA1 = ip(new CniRuntime(silk.cniBin(), cellA).add(network(silk.socket(A).toString()), "ctr-a1",
                Lab.netnsPath(a1).toString(), "eth0", "SILK_APP_ID=app-a"));
        ipB1 = ip(new CniRuntime(silk.cniBin(), cellB).add(network(silk.socket(B).toString()), "ctr-b1",
                Lab.netnsPath(b1).toString(), "eth0", "SILK_APP_ID=app-b"));
    }

    @Test
    @Order(1)
    void containersOnDifferentCellsReachEachOtherOverTheOverlay() throws Exception {
        assertThat(ipA1).startsWith(silk.subnet(cellA).replace(".0/24", "."));
        assertThat(ipB1).startsWith(silk.subnet(cellB).replace(".0/24", "."));
        assertThat(silk.subnet(cellA)).isNotEqualTo(silk.subnet(cellB));

        Lab.await("ping a1 -> b1", Duration.ofSeconds(10), () -> lab.in(a1, "ping", "-c1", "-W1", ipB1).ok());
        assertThat(lab.in(b1, "ping", "-c3", "-i0.2", "-W1", ipA1).output()).contains("3 received");

        // TCP, and the destination sees the source's overlay address (no NAT inside the overlay).
        Process server = lab.spawn(b1, "nc-b1", List.of("nc", "-lvn", "-p", "8080", "-s", ipB1));
        lab.awaitLog("nc-b1", "Listening on");
        var client = lab.in(a1, "sh", "-c", "echo hello | nc -N -w2 " + ipB1 + " 8080");
        assertThat(client.ok()).as(client.output()).isTrue();
        server.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
        String seen = java.nio.file.Files.readString(lab.work().resolve("nc-b1.log"));
        assertThat(seen).contains("hello").contains(ipA1);
        lab.stop(server, true);

        // The overlay is programmed as Silk programs it.
        String details = lab.in(cellA, "ip", "-d", "link", "show", "silk-vtep").output();
        assertThat(details).contains("vxlan id 1", "dstport 4789", "nolearning", "gbp");
        String subnetB = silk.subnet(cellB);
        String baseB = subnetB.substring(0, subnetB.indexOf('/'));
        assertThat(lab.in(cellA, "ip", "route").output()).contains(subnetB + " via " + baseB + " dev silk-vtep");
        assertThat(lab.in(cellA, "ip", "neigh", "show", "dev", "silk-vtep").output()).contains(baseB + " lladdr ee:ee:");
        assertThat(lab.in(cellA, "bridge", "fdb", "show", "dev", "silk-vtep").output()).contains("dst " + B + " self permanent");
        assertThat(lab.in(a1, "ip", "route").output()).contains("default via 169.254.0.1 dev eth0");
    }

    static String cellC;
    static Process daemonC;

    static java.time.Instant logged(String logName, String needle) throws Exception {
        for (String line : java.nio.file.Files.readAllLines(lab.work().resolve(logName + ".log"))) {
            if (line.contains(needle)) {
                return java.time.Instant.parse(line.substring(3, line.indexOf(' ')));
            }
        }
        throw new AssertionError(needle + " not in " + logName);
    }

    /** The destinations routed over the vtep in a cell. */
    static java.util.Set<String> vtepRoutes(String ns) {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (String line : lab.in(ns, "ip", "route", "show", "dev", "silk-vtep").output().split("\n")) {
            if (!line.isBlank()) {
                out.add(line.trim().split("\\s+")[0]);
            }
        }
        return out;
    }

    static boolean routed(String ns, String subnet) {
        return lab.in(ns, "ip", "route", "show", subnet).output().contains("dev silk-vtep");
    }

    @Test
    @Order(2)
    void aThirdCellBecomesReachableWithinOneSecond() throws Exception {
        cellC = lab.host("cellc", C);
        // A's routes are watched from before C starts: C's subnet is known only once C serves its
        // health endpoint, later in its start-up than the lease, which would count C's start-up too.
        java.util.Set<String> before = vtepRoutes(cellA);
        daemonC = silk.daemon(cellC, C);
        java.util.Set<String> added = new java.util.HashSet<>();
        Lab.await("a new route on A", Duration.ofSeconds(30), () -> {
            added.addAll(vtepRoutes(cellA));
            added.removeAll(before);
            return !added.isEmpty();
        });
        java.time.Instant routedOnA = java.time.Instant.now();
        Lab.await("cell C lease", Duration.ofSeconds(30), () -> !silk.subnet(cellC).isEmpty());
        String subnetC = silk.subnet(cellC);
        assertThat(added).as("the new route on A is C's").containsExactly(subnetC);
        java.time.Instant leased = logged("daemon-" + C, "lease acquired");
        assertThat(Duration.between(leased, routedOnA).toMillis()).as("ms from C's lease to A's route (upper bound)")
                .isLessThan(1000);
        Lab.await("route to C on B", Duration.ofSeconds(1), () -> routed(cellB, subnetC));
        String baseC = subnetC.substring(0, subnetC.indexOf('/'));
        assertThat(lab.in(a1, "ping", "-c1", "-W1", baseC).ok()).as("a1 reaches cell C's overlay address").isTrue();
    }

    @Test
    @Order(3)
    void aKilledDaemonKeepsItsSubnetAndItsContainersKeepWorking() throws Exception {
        String before = silk.subnet(cellA);
        lab.stop(daemonA, true);
        // Meanwhile: entries someone else made on the vtep, and a stale one of the daemon's own.
        Lab.must(lab.in(cellA, "ip", "route", "add", "10.99.0.0/24", "dev", "silk-vtep"));
        Lab.must(lab.in(cellA, "ip", "neigh", "add", "10.255.99.9", "lladdr", "02:00:00:00:00:09", "nud", "permanent", "dev", "silk-vtep"));
        Lab.must(lab.in(cellA, "ip", "route", "add", "10.255.250.0/24", "via", "10.255.250.0", "dev", "silk-vtep", "proto", "90", "onlink"));
        // The data plane does not need the daemon.
        assertThat(lab.in(a1, "ping", "-c3", "-i0.2", "-W1", ipB1).output()).contains("3 received");
        daemonA = silk.daemon(cellA, A);
        silk.awaitHealthy(cellA, daemonA, A);
        silk.awaitWatching(cellA, A, false);
        assertThat(silk.subnet(cellA)).isEqualTo(before);
        assertThat(java.nio.file.Files.readString(lab.work().resolve("daemon-" + A + ".log"))).contains("lease renewed subnet=" + before);
        assertThat(lab.in(a1, "ping", "-c2", "-i0.2", "-W1", ipB1).output()).contains("2 received");
        assertThat(silk.health(cellA)).contains("\"containers\":1");
        String routes = lab.in(cellA, "ip", "route").output();
        assertThat(routes).as("foreign route left alone").contains("10.99.0.0/24 dev silk-vtep");
        // The snapshot that removes it may be applied just after the watch reports connected.
        Lab.await("stale route of its own removed", Duration.ofSeconds(5),
                () -> !lab.in(cellA, "ip", "route").output().contains("10.255.250.0/24"));
        assertThat(lab.in(cellA, "ip", "neigh", "show", "dev", "silk-vtep").output()).contains("10.255.99.9 lladdr 02:00:00:00:00:09");
    }

    @Test
    @Order(4)
    void delSucceedsWhenTheDaemonIsGoneAndTheAddressComesBackLater() throws Exception {
        String b2 = lab.container("b2");
        var runtimeB = new CniRuntime(silk.cniBin(), cellB);
        var net = network(silk.socket(B).toString());
        runtimeB.add(net, "ctr-b2", Lab.netnsPath(b2).toString(), "eth0", null);
        assertThat(silk.health(cellB)).contains("\"containers\":2");
        lab.stop(daemonB, false);
        for (var r : runtimeB.del(net, "ctr-b2", Lab.netnsPath(b2).toString(), "eth0", null)) {
            assertThat(r.exit()).as(r.stdout()).isZero();
        }
        assertThat(lab.in(b2, "ip", "link", "show", "eth0").ok()).isFalse();
        daemonB = silk.daemon(cellB, B, "lease.partition-tolerance=3s");
        silk.awaitHealthy(cellB, daemonB, B);
        silk.awaitWatching(cellB, B, false);
        assertThat(silk.health(cellB)).contains("\"containers\":1");
        assertThat(lab.in(a1, "ping", "-c1", "-W1", ipB1).ok()).isTrue();
    }

    @Test
    @Order(5)
    void withTheControllerStoppedExistingTrafficKeepsFlowing() throws Exception {
        lab.stop(controller, false);
        assertThat(lab.in(a1, "ping", "-c5", "-i0.2", "-W1", ipB1).output()).contains("5 received");
        // B tolerates 3 s without a renew, A the default 168 h: B reports why it is unhealthy, A does not.
        Lab.await("B unhealthy", Duration.ofSeconds(15), () -> silk.health(cellB).contains("\"status\":\"DOWN\""));
        assertThat(silk.health(cellB)).contains("no successful renew for", "partition tolerance 3s");
        assertThat(silk.health(cellA)).contains("\"status\":\"UP\"");
        assertThat(lab.in(b1, "ping", "-c2", "-i0.2", "-W1", ipA1).output()).contains("2 received");
        controller = silk.controller(ctlNs);
        silk.awaitWatching(cellA, A, false);
        silk.awaitWatching(cellB, B, false);
        Lab.await("B healthy again", Duration.ofSeconds(20), () -> silk.health(cellB).contains("\"status\":\"UP\""));
    }

    @Test
    @Order(6)
    void aRetiredCellsRoutesDisappearEverywhere() throws Exception {
        String subnetC = silk.subnet(cellC);
        lab.stop(daemonC, false);
        var teardown = lab.in(cellC, Lab.JAVA, "--enable-native-access=ALL-UNNAMED", "-jar",
                Lab.ROOT.resolve("cell-daemon/target/silk-cell-daemon.jar").toString(), "teardown", "--config",
                silk.daemonConfig(C).toString());
        assertThat(teardown.ok()).as(teardown.output()).isTrue();
        assertThat(lab.in(cellC, "ip", "link", "show", "silk-vtep").ok()).isFalse();
        Lab.await("C's route gone from A and B", Duration.ofSeconds(2),
                () -> !routed(cellA, subnetC) && !routed(cellB, subnetC));
        assertThat(lab.in(cellA, "ip", "neigh", "show", "dev", "silk-vtep").output())
                .doesNotContain(subnetC.substring(0, subnetC.indexOf('/')) + " ");
        assertThat(lab.in(cellA, "bridge", "fdb", "show", "dev", "silk-vtep").output()).doesNotContain("dst " + C + " ");
        // The others are untouched.
        assertThat(lab.in(a1, "ping", "-c1", "-W1", ipB1).ok()).isTrue();
    }

    @Test
    @Order(7)
    void everythingTheTestMadeIsGoneAfterwards() {
        List<String> made = lab.namespaces();
        lab.close();
        String left = Lab.sh("ip", "netns", "list").output();
        for (String ns : made) {
            assertThat(left).doesNotContain(ns);
        }
        assertThat(daemonA.isAlive() || daemonB.isAlive() || controller.isAlive()).isFalse();
    }
}
