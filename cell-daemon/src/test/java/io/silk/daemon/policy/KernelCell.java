package io.silk.daemon.policy;

import io.silk.daemon.Namespaces;
import io.silk.daemon.cni.ContainerLink;
import io.silk.daemon.policy.nftables.KernelNftables;
import io.silk.daemon.policy.nftables.NftablesBackend;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.netlink.Netlink;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A cell for the enforcement tests, made of network namespaces this test creates and always
 * removes: the cell (subnet 10.255.1.0/24 in overlay 10.255.0.0/16) with containers c1
 * (10.255.1.2, app-a) and c2 (10.255.1.3, app-b) wired as the plugin wires them, and an outside
 * host (192.0.2.2) on a link of the cell's (192.0.2.1), for egress.
 */
final class KernelCell implements AutoCloseable {

    static final String SUBNET = "10.255.1.0/24";
    static final String OVERLAY = "10.255.0.0/16";
    static final String C1_IP = "10.255.1.2";
    static final String C2_IP = "10.255.1.3";
    static final String CELL_IP = "192.0.2.1";
    static final String OUTSIDE_IP = "192.0.2.2";
    static final String OUTSIDE_IP_2 = "192.0.2.3";
    static final String OUTSIDE_IP_3 = "192.0.2.4";

    private final Namespaces namespaces = new Namespaces();
    final String cell;
    final String c1;
    final String c2;
    final String outside;
    private final List<Process> servers = new ArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();

    KernelCell() {
        try {
            cell = namespaces.add("cell");
            c1 = namespaces.add("c1");
            c2 = namespaces.add("c2");
            outside = namespaces.add("out");
            sh("ip", "netns", "exec", cell, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            try (Netlink host = Netlink.openIn(Path.of("/var/run/netns", cell))) {
                ContainerLink links = new ContainerLink(host);
                links.attach(Path.of("/var/run/netns", c1), "eth0", "s-c1", C1_IP, 1450);
                links.attach(Path.of("/var/run/netns", c2), "eth0", "s-c2", C2_IP, 1450);
            }
            sh("ip", "-n", cell, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", outside);
            sh("ip", "-n", cell, "addr", "add", CELL_IP + "/24", "dev", "uplink");
            sh("ip", "-n", cell, "link", "set", "uplink", "up");
            sh("ip", "-n", outside, "addr", "add", OUTSIDE_IP + "/24", "dev", "eth0");
            sh("ip", "-n", outside, "addr", "add", OUTSIDE_IP_2 + "/24", "dev", "eth0");
            sh("ip", "-n", outside, "addr", "add", OUTSIDE_IP_3 + "/24", "dev", "eth0");
            sh("ip", "-n", outside, "link", "set", "eth0", "up");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    Path netns(String ns) {
        return Namespaces.path(ns);
    }

    /** The backend under test, in the cell's namespace; closed with the cell. */
    PolicyBackend backend(String kind) {
        return switch (kind) {
            case "nftables" -> nftables(Ruleset.Logging.OFF);
            case "iptables" -> new IptablesBackend(iptables());
            default -> throw new IllegalArgumentException(kind);
        };
    }

    NftablesBackend nftables(Ruleset.Logging logging) {
        KernelNftables nft = KernelNftables.openIn(netns(cell));
        closing.add(nft);
        return new NftablesBackend(nft, iptables(), logging);
    }

    Iptables iptables() {
        return new Iptables(List.of("ip", "netns", "exec", cell));
    }

    static PolicyRules.Inputs inputs(List<C2CPolicy> c2c, List<EgressPolicy> egress, boolean logDenied) {
        return new PolicyRules.Inputs(SUBNET, OVERLAY, List.of(new PolicyRules.LocalContainer(C1_IP, "app-a"),
                new PolicyRules.LocalContainer(C2_IP, "app-b")), c2c, egress, logDenied);
    }

    static C2CPolicy c2c(long id, String protocol, int start, int end) {
        return C2CPolicy.newBuilder().setId(id).setSourceId("app-a").setSourceTag(1).setDestinationId("app-b")
                .setDestinationTag(2).setProtocol(protocol).setStartPort(start).setEndPort(end).build();
    }

    static EgressPolicy egress(long id, String protocol, String startIp, String endIp, int startPort, int endPort,
            int icmpType, int icmpCode) {
        return EgressPolicy.newBuilder().setId(id).setSourceId("app-a").setSourceTag(1).setProtocol(protocol)
                .setStartIp(startIp).setEndIp(endIp).setStartPort(startPort).setEndPort(endPort)
                .setIcmpType(icmpType).setIcmpCode(icmpCode).build();
    }

    /** A server in {@code ns} on ip:port ("tcp" or "udp") that has bound its port when this returns; its log file. */
    Path listen(String ns, String ip, int port, String proto) throws IOException, InterruptedException {
        Path log = Files.createTempFile("silk-srv", ".log");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "nc", "-lkvn"));
        if (proto.equals("udp")) {
            cmd.add("-u");
        }
        cmd.addAll(List.of("-s", ip, "-p", String.valueOf(port)));
        servers.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!Files.readString(log).matches("(?s).*(Listening on|Bound on).*")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("nc did not listen on " + ip + ":" + port + ": " + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return log;
    }

    /** A TCP connection from c1 that sends a line and is answered (closed cleanly). */
    boolean tcp(String from, String ip, int port) {
        return ok("ip", "netns", "exec", from, "sh", "-c", "echo hi | nc -N -w2 " + ip + " " + port);
    }

    boolean ping(String from, String ip) {
        return ok("ip", "netns", "exec", from, "ping", "-c1", "-W1", ip);
    }

    /** Sends one UDP datagram with {@code text}. */
    void udp(String from, String ip, int port, String text) {
        ok("ip", "netns", "exec", from, "sh", "-c", "echo " + text + " | nc -u -w1 " + ip + " " + port);
    }

    String nft(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", cell, "nft"));
        cmd.addAll(List.of(args));
        return sh(cmd.toArray(String[]::new));
    }

    Process start(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        servers.add(p);
        return p;
    }

    static String sh(String... cmd) {
        return Namespaces.sh(cmd);
    }

    static boolean ok(String... cmd) {
        try {
            return new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void close() {
        servers.forEach(Process::destroyForcibly);
        for (AutoCloseable c : closing) {
            try {
                c.close();
            } catch (Exception ignored) {
                // removing the namespaces below matters more
            }
        }
        namespaces.close();
    }
}
