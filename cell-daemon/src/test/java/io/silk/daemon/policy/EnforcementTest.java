package io.silk.daemon.policy;

import static io.silk.daemon.policy.KernelCell.C1_IP;
import static io.silk.daemon.policy.KernelCell.C2_IP;
import static io.silk.daemon.policy.KernelCell.OUTSIDE_IP;
import static io.silk.daemon.policy.KernelCell.c2c;
import static io.silk.daemon.policy.KernelCell.egress;
import static io.silk.daemon.policy.KernelCell.inputs;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.proto.v1.C2CPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What both backends guarantee, against the real kernel with real packets: a cell namespace with
 * two containers (app-a, app-b) wired as the plugin wires them and an outside host.
 */
class EnforcementTest {

    KernelCell k;

    @BeforeEach
    void wire() {
        k = new KernelCell();
    }

    @AfterEach
    void unwire() {
        k.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"nftables", "iptables"})
    void onlyWhatAPolicyAllowsGetsThrough(String kind) throws Exception {
        PolicyBackend backend = k.backend(kind);
        assertThat(backend.prepare()).as("a fresh cell").isTrue();
        k.listen(k.c2, C2_IP, 8080, "tcp");
        k.listen(k.c2, C2_IP, 8081, "tcp");
        Path udp = k.listen(k.c2, C2_IP, 8080, "udp");

        backend.apply(inputs(List.of(), List.of(), false));
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("no policy: refused").isFalse();

        backend.apply(inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), false));
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("allowed port").isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8081)).as("other port").isFalse();
        assertThat(k.tcp(k.c2, C1_IP, 8080)).as("the reverse direction").isFalse();
        k.udp(k.c1, C2_IP, 8080, "udp-probe");
        Thread.sleep(300);
        assertThat(Files.readString(udp)).as("udp is another protocol").doesNotContain("udp-probe");

        backend.apply(inputs(List.of(), List.of(), false));
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("policy removed").isFalse();
        assertThat(backend.prepare()).as("silk's rules are there now").isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"nftables", "iptables"})
    void anEstablishedAllowedConnectionSurvivesUnrelatedChanges(String kind) throws Exception {
        PolicyBackend backend = k.backend(kind);
        backend.prepare();
        Path received = k.listen(k.c2, C2_IP, 8080, "tcp");
        C2CPolicy allowed = c2c(1, "tcp", 8080, 8080);
        backend.apply(inputs(List.of(allowed), List.of(), false));
        Process client = k.start("ip", "netns", "exec", k.c1, "sh", "-c",
                "(echo first; sleep 1.5; echo second) | nc -N -w3 " + C2_IP + " 8080");
        awaitContains(received, "first");
        for (int i = 0; i < 5; i++) {
            backend.apply(inputs(List.of(allowed, c2c(10 + i, "udp", 9000 + i, 9000 + i)), List.of(), false));
        }
        assertThat(client.waitFor()).isZero();
        awaitContains(received, "second");
    }

    @ParameterizedTest
    @ValueSource(strings = {"nftables", "iptables"})
    void egressOnlyWhereAPolicyAllowsAndMasqueradedToTheCell(String kind) throws Exception {
        PolicyBackend backend = k.backend(kind);
        backend.prepare();
        Path seen = k.listen(k.outside, OUTSIDE_IP, 9999, "tcp");
        backend.apply(inputs(List.of(), List.of(), false));
        assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("no egress policy").isFalse();
        assertThat(k.ping(k.c1, OUTSIDE_IP)).as("no icmp policy").isFalse();

        backend.apply(inputs(List.of(), List.of(egress(1, "tcp", OUTSIDE_IP, OUTSIDE_IP, 9999, 9999, -1, -1)), false));
        assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("tcp egress").isTrue();
        assertThat(Files.readString(seen)).contains("Connection received on " + KernelCell.CELL_IP).doesNotContain(C1_IP);
        assertThat(k.tcp(k.c2, OUTSIDE_IP, 9999)).as("app-b has no egress").isFalse();
        assertThat(k.ping(k.c1, OUTSIDE_IP)).as("tcp only").isFalse();

        backend.apply(inputs(List.of(), List.of(egress(2, "icmp", OUTSIDE_IP, OUTSIDE_IP, 0, 0, 8, 0)), false));
        assertThat(k.ping(k.c1, OUTSIDE_IP)).as("icmp echo allowed").isTrue();
        assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("icmp only").isFalse();

        backend.apply(inputs(List.of(), List.of(egress(3, "all", "192.0.2.2", "192.0.2.3", 0, 0, -1, -1)), false));
        assertThat(k.ping(k.c1, KernelCell.OUTSIDE_IP_2)).as("all: icmp in the range").isTrue();
        assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("all: tcp in the range").isTrue();
        assertThat(k.ping(k.c1, KernelCell.OUTSIDE_IP_3)).as("outside the range").isFalse();
    }

    static void awaitContains(Path file, String text) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!Files.readString(file).contains(text)) {
            assertThat(System.nanoTime()).as(file + " to contain " + text).isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
