package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Cells as network namespaces on an underlay bridge, the controller and its database in a
 * namespace of their own, containers attached by the CNI plugin as a runtime would: the overlay
 * end to end, through real processes and the real kernel.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
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
    static void upTheLab() throws Exception {
        lab = new Lab();
        try {
            ctlNs = lab.host("ctl", Silk.CONTROLLER_IP);
            cellA = lab.host("cella", A);
            cellB = lab.host("cellb", B);
            silk = new Silk(lab, A, B, C);
            controller = silk.controller(ctlNs);
            daemonA = silk.daemon(cellA, A);
            daemonB = silk.daemon(cellB, B);
            silk.awaitHealthy(cellA, daemonA, A);
            silk.awaitHealthy(cellB, daemonB, B);

            a1 = lab.container("a1");
            b1 = lab.container("b1");
            ipA1 = ip(new CniRuntime(silk.cniBin(), cellA).add(network(silk.socket(A).toString()), "ctr-a1",
                    Lab.netnsPath(a1).toString(), "eth0", "SILK_APP_ID=app-a"));
            ipB1 = ip(new CniRuntime(silk.cniBin(), cellB).add(network(silk.socket(B).toString()), "ctr-b1",
                    Lab.netnsPath(b1).toString(), "eth0", "SILK_APP_ID=app-b"));
        } catch (Exception | AssertionError e) {
            lab.close();
            throw e;
        }
    }

    @AfterAll
    static void tearDownTheLab() {
        if (lab != null && System.getenv("SILK_E2E_KEEP") == null) {
            lab.close();
        }
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
        Thread.sleep(300);
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
}
