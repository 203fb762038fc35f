package io.silk.daemon.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.cni.ContainerLink;
import io.silk.netlink.Netlink;
import io.silk.proto.v1.C2CPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rules against the real kernel: a cell namespace with two containers (app-a, app-b) wired
 * as the plugin wires them, iptables inside the cell namespace only.
 */
class EnforcementTest {

    final String id = Integer.toHexString(0x1000 + ThreadLocalRandom.current().nextInt(0xefff));
    final String cell = "skp" + id + "-cell";
    final String c1 = "skp" + id + "-c1";
    final String c2 = "skp" + id + "-c2";
    final List<Process> servers = new ArrayList<>();
    Iptables iptables;

    static String sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static boolean ok(String... cmd) {
        try {
            return new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @BeforeEach
    void wire() {
        for (String ns : List.of(cell, c1, c2)) {
            sh("ip", "netns", "add", ns);
            sh("ip", "-n", ns, "link", "set", "lo", "up");
        }
        sh("ip", "netns", "exec", cell, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        try (Netlink host = Netlink.openIn(Path.of("/var/run/netns", cell))) {
            ContainerLink links = new ContainerLink(host);
            links.attach(Path.of("/var/run/netns", c1), "eth0", "s-c1", "10.255.1.2", 1450);
            links.attach(Path.of("/var/run/netns", c2), "eth0", "s-c2", "10.255.1.3", 1450);
        }
        iptables = new Iptables(List.of("ip", "netns", "exec", cell));
        iptables.ensureHooks();
        iptables.ensureHooks(); // idempotent
    }

    @AfterEach
    void unwire() {
        servers.forEach(Process::destroyForcibly);
        for (String ns : List.of(c1, c2, cell)) {
            ok("ip", "netns", "delete", ns);
        }
    }

    void apply(List<C2CPolicy> policies) {
        iptables.restore(PolicyRules.render(new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16",
                List.of(new PolicyRules.LocalContainer("10.255.1.2", "app-a"), new PolicyRules.LocalContainer("10.255.1.3", "app-b")),
                policies, List.of(), false)).full());
    }

    Path listen(int port, String proto) throws IOException {
        Path log = Files.createTempFile("silk-srv", ".log");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", c2, "nc", "-lkn"));
        if (proto.equals("udp")) {
            cmd.add("-u");
        }
        cmd.addAll(List.of("-s", "10.255.1.3", "-p", String.valueOf(port)));
        servers.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        return log;
    }

    boolean tcp(int port) {
        return ok("ip", "netns", "exec", c1, "sh", "-c", "echo hi | nc -N -w2 10.255.1.3 " + port);
    }

    static C2CPolicy policy(String protocol, int port) {
        return C2CPolicy.newBuilder().setSourceId("app-a").setSourceTag(1).setDestinationId("app-b").setDestinationTag(2)
                .setProtocol(protocol).setStartPort(port).setEndPort(port).build();
    }

    @Test
    void onlyWhatAPolicyAllowsGetsThrough() throws Exception {
        listen(8080, "tcp");
        listen(8081, "tcp");
        Path udp = listen(8080, "udp");
        Thread.sleep(300);

        apply(List.of());
        assertThat(tcp(8080)).as("no policy: refused").isFalse();

        apply(List.of(policy("tcp", 8080)));
        assertThat(tcp(8080)).as("allowed port").isTrue();
        assertThat(tcp(8081)).as("other port").isFalse();
        sh("ip", "netns", "exec", c1, "sh", "-c", "echo udp-probe | nc -u -w1 10.255.1.3 8080 || true");
        Thread.sleep(300);
        assertThat(Files.readString(udp)).as("udp is another protocol").doesNotContain("udp-probe");
        assertThat(sh("ip", "netns", "exec", cell, "iptables-save", "-t", "filter")).contains("-A FORWARD -j silk-forward");

        apply(List.of());
        assertThat(tcp(8080)).as("policy removed").isFalse();
    }

    @Test
    void anEstablishedAllowedConnectionSurvivesUnrelatedChanges() throws Exception {
        Path received = listen(8080, "tcp");
        Thread.sleep(300);
        apply(List.of(policy("tcp", 8080)));
        Process client = new ProcessBuilder("ip", "netns", "exec", c1, "sh", "-c",
                "(echo first; sleep 1.5; echo second) | nc -N -w3 10.255.1.3 8080").start();
        Thread.sleep(500);
        for (int i = 0; i < 5; i++) {
            apply(List.of(policy("tcp", 8080), policy("udp", 9000 + i)));
        }
        assertThat(client.waitFor()).isZero();
        Thread.sleep(200);
        assertThat(Files.readString(received)).contains("first", "second");
    }
}
