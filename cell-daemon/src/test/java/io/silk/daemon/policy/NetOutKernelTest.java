package io.silk.daemon.policy;

import static io.silk.daemon.policy.KernelCell.C1_IP;
import static io.silk.daemon.policy.KernelCell.C2_IP;
import static io.silk.daemon.policy.KernelCell.OUTSIDE_IP;
import static io.silk.daemon.policy.KernelCell.OUTSIDE_IP_2;
import static io.silk.daemon.policy.KernelCell.OUTSIDE_IP_3;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.silk.daemon.ipam.ContainerMetadata;
import io.silk.daemon.ipam.ContainerMetadata.NetOutRule;
import io.silk.daemon.ipam.ContainerMetadata.Range;
import io.silk.daemon.policy.nftables.KernelNftables;
import io.silk.daemon.policy.nftables.NftablesBackend;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.daemon.policy.verdict.Verdict;
import io.silk.daemon.policy.verdict.VerdictLog;
import io.silk.netlink.NflogSocket;
import io.silk.values.Ipv4Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * NetOut in static mode, with real packets: a container reaches outside the overlay what the
 * security-group rules the runtime passed at ADD allow (and its DNS servers), deny networks win
 * over any allow (for all containers, and for staging or running ones), and a rule with log logs
 * the connections it lets out.
 */
class NetOutKernelTest {

    static final int GROUP = 4343;
    KernelCell k;
    NflogSocket nflog;

    @BeforeEach
    void wire() {
        k = new KernelCell();
    }

    @AfterEach
    void unwire() {
        if (nflog != null) {
            nflog.close();
        }
        k.close();
    }

    static Range address(String ip) {
        long a = Ipv4Address.parse(ip, "test").bits() & 0xffff_ffffL;
        return new Range(a, a);
    }

    static Range block(String first, String last) {
        return new Range(address(first).start(), address(last).end());
    }

    @Test
    void securityGroupRulesDnsAndDenyNetworks() throws Exception {
        KernelNftables nft = KernelNftables.openIn(k.netns(k.cell));
        try {
            // 192.0.2.4 is denied to everyone; 192.0.2.2 to staging containers.
            NftablesBackend backend = new NftablesBackend(nft, null, new Ruleset.Logging(false, false, GROUP, 1000),
                    new Ruleset.DenyNetworks(List.of(OUTSIDE_IP_3), List.of(), List.of(OUTSIDE_IP)));
            nflog = NflogSocket.openIn(k.netns(k.cell), GROUP);
            VerdictLog verdicts = new VerdictLog(backend, new SimpleMeterRegistry(), 10, Clock.systemUTC());
            ContainerMetadata running = new ContainerMetadata("app-a", "space-1", "org-1", "app", List.of(), List.of(
                    new NetOutRule("tcp", List.of(address(OUTSIDE_IP)), List.of(new Range(9999, 9999)), -1, -1, true),
                    new NetOutRule("icmp", List.of(address(OUTSIDE_IP_2)), List.of(), 8, -1, false),
                    new NetOutRule("all", List.of(block("192.0.2.4", "192.0.2.4")), List.of(), -1, -1, false)),
                    List.of(OUTSIDE_IP_2));
            ContainerMetadata staging = new ContainerMetadata("app-b", "space-1", "org-1", "staging", List.of(), List.of(
                    new NetOutRule("all", List.of(block("192.0.2.0", "192.0.2.255")), List.of(), -1, -1, false)), List.of());
            k.listen(k.outside, OUTSIDE_IP, 9999, "tcp");
            k.listen(k.outside, OUTSIDE_IP, 9998, "tcp");
            Path dns = k.listen(k.outside, OUTSIDE_IP_2, 53, "udp");
            backend.prepare();
            backend.apply(new PolicyRules.Inputs(KernelCell.SUBNET, KernelCell.OVERLAY, List.of(
                    new PolicyRules.LocalContainer(C1_IP, running), new PolicyRules.LocalContainer(C2_IP, staging)),
                    List.of(), List.of(), false));

            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("tcp rule").isTrue();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9998)).as("another port").isFalse();
            assertThat(k.ping(k.c1, OUTSIDE_IP_2)).as("icmp echo rule").isTrue();
            assertThat(k.ping(k.c1, OUTSIDE_IP)).as("no icmp rule for that address").isFalse();
            assertThat(k.ping(k.c1, OUTSIDE_IP_3)).as("an all rule, but a deny network for everyone").isFalse();
            k.udp(k.c1, OUTSIDE_IP_2, 53, "dns-query");
            EnforcementTest.awaitContains(dns, "dns-query");

            assertThat(k.ping(k.c2, OUTSIDE_IP_2)).as("staging: its all rule").isTrue();
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9999)).as("staging: a deny network for staging wins").isFalse();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("running: not denied there").isTrue();

            // The rule with log: its new connections are logged, named by the app.
            List<String> lines = VerdictKernelTest.readUntil(nflog, verdicts, v -> v.kind() == Verdict.Kind.ALLOWED_EGRESS)
                    .stream().map(Verdict::line).toList();
            assertThat(lines).contains("allowed app=app-a(" + C1_IP + ") -> " + OUTSIDE_IP
                    + " tcp/9999: a security group or egress policy allows it");
            assertThat(Files.readString(dns)).contains("dns-query");
        } finally {
            nft.close();
        }
    }

    @Test
    void withGlobalEgressLoggingEveryConnectionLetOutIsLogged() throws Exception {
        KernelNftables nft = KernelNftables.openIn(k.netns(k.cell));
        try {
            NftablesBackend backend = new NftablesBackend(nft, null, new Ruleset.Logging(false, false, GROUP, 1000, true));
            nflog = NflogSocket.openIn(k.netns(k.cell), GROUP);
            VerdictLog verdicts = new VerdictLog(backend, new SimpleMeterRegistry(), 10, Clock.systemUTC());
            ContainerMetadata running = new ContainerMetadata("app-a", "", "", "app", List.of(), List.of(
                    new NetOutRule("tcp", List.of(address(OUTSIDE_IP)), List.of(new Range(9999, 9999)), -1, -1, false),
                    new NetOutRule("icmp", List.of(address(OUTSIDE_IP_2)), List.of(), -1, -1, false)), List.of());
            k.listen(k.outside, OUTSIDE_IP, 9999, "tcp");
            backend.prepare();
            backend.apply(new PolicyRules.Inputs(KernelCell.SUBNET, KernelCell.OVERLAY,
                    List.of(new PolicyRules.LocalContainer(C1_IP, running)), List.of(), List.of(), false));
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).isTrue();
            assertThat(VerdictKernelTest.readUntil(nflog, verdicts, v -> v.kind() == Verdict.Kind.ALLOWED_EGRESS))
                    .extracting(Verdict::line).contains("allowed app=app-a(" + C1_IP + ") -> " + OUTSIDE_IP
                            + " tcp/9999: a security group or egress policy allows it");
            assertThat(k.ping(k.c1, OUTSIDE_IP_2)).isTrue();
            assertThat(VerdictKernelTest.readUntil(nflog, verdicts, v -> v.kind() == Verdict.Kind.ALLOWED_EGRESS))
                    .extracting(Verdict::what).contains("icmp type 8");
        } finally {
            nft.close();
        }
    }
}
