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

    static io.silk.proto.v1.SecurityGroup group(long id, String guid, boolean running, boolean staging,
            io.silk.proto.v1.SecurityGroupRule... rules) {
        return io.silk.proto.v1.SecurityGroup.newBuilder().setId(id).setGuid(guid).setName(guid).setRunningDefault(running)
                .setStagingDefault(staging).addAllRules(List.of(rules)).build();
    }

    static io.silk.proto.v1.SecurityGroupRule tcp(String ip, int port) {
        return io.silk.proto.v1.SecurityGroupRule.newBuilder().setProtocol("tcp").setIcmpType(-1).setIcmpCode(-1)
                .addDestinations(io.silk.proto.v1.AddressRange.newBuilder().setStart(ip).setEnd(ip))
                .addPorts(io.silk.proto.v1.PortRange.newBuilder().setStart(port).setEnd(port)).build();
    }

    static io.silk.proto.v1.SecurityGroupBinding binding(long id, String group, String space, String lifecycle) {
        return io.silk.proto.v1.SecurityGroupBinding.newBuilder().setId(id).setSecurityGroupGuid(group).setSpaceId(space)
                .setLifecycle(lifecycle).build();
    }

    static io.silk.proto.v1.PolicyChange change(boolean created, io.silk.proto.v1.SecurityGroupBinding b) {
        return io.silk.proto.v1.PolicyChange.newBuilder().setKind(created ? io.silk.proto.v1.PolicyChange.Kind.CREATED
                : io.silk.proto.v1.PolicyChange.Kind.DELETED).setSecurityGroupBinding(b).build();
    }

    static io.silk.proto.v1.PolicyChange change(boolean created, io.silk.proto.v1.SecurityGroup g) {
        return io.silk.proto.v1.PolicyChange.newBuilder().setKind(created ? io.silk.proto.v1.PolicyChange.Kind.CREATED
                : io.silk.proto.v1.PolicyChange.Kind.DELETED).setSecurityGroup(g).build();
    }

    /**
     * Dynamic security groups: a running container gets the global running groups and its space's
     * running bindings, a staging container the staging ones; binding, unbinding, editing and
     * deleting a group change what a running container reaches, with no restart; the runtime's
     * netOutRules are not what counts any more.
     */
    @Test
    void dynamicSecurityGroupsFollowTheirBindingsWhileContainersRun() throws Exception {
        KernelNftables nft = KernelNftables.openIn(k.netns(k.cell));
        try {
            NftablesBackend backend = new NftablesBackend(nft, null, new Ruleset.Logging(false, false, GROUP, 1000),
                    Ruleset.DenyNetworks.NONE, NftablesBackend.SecurityGroupMode.DYNAMIC);
            ContainerMetadata running = new ContainerMetadata("app-a", "space-1", "org-1", "app", List.of(), List.of(
                    new NetOutRule("all", List.of(), List.of(), -1, -1, false)), List.of());
            ContainerMetadata staging = new ContainerMetadata("app-b", "space-1", "org-1", "staging", List.of(), List.of(), List.of());
            for (int port : new int[] {9001, 9002, 9003, 9004}) {
                k.listen(k.outside, OUTSIDE_IP, port, "tcp");
            }
            var global = group(1, "global", true, false, tcp(OUTSIDE_IP, 9001));
            var spaceGroup = group(2, "space-web", false, false, tcp(OUTSIDE_IP, 9002));
            var stagingGroup = group(3, "staging-only", false, true, tcp(OUTSIDE_IP, 9003));
            var otherSpace = group(4, "other-space", false, false, tcp(OUTSIDE_IP, 9004));
            var webRunning = binding(10, "space-web", "space-1", "running");
            backend.prepare();
            backend.apply(new PolicyRules.Inputs(KernelCell.SUBNET, KernelCell.OVERLAY, List.of(
                    new PolicyRules.LocalContainer(C1_IP, running), new PolicyRules.LocalContainer(C2_IP, staging)),
                    List.of(), List.of(), List.of(global, spaceGroup, stagingGroup, otherSpace),
                    List.of(webRunning, binding(11, "other-space", "space-2", "running")), false));

            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9001)).as("running: the global running group").isTrue();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9002)).as("running: its space's running group").isTrue();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9003)).as("running: not the staging group").isFalse();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9004)).as("running: not another space's group").isFalse();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9999)).as("dynamic: the runtime's all-rule does not count").isFalse();
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9003)).as("staging: the staging group").isTrue();
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9001)).as("staging: not the running groups").isFalse();
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9002)).as("staging: not the space's running binding").isFalse();

            // Bound while the containers run: other-space for space-1 running, no restart.
            var bindOther = binding(12, "other-space", "space-1", "running");
            backend.change(List.of(change(true, bindOther)), () -> null);
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9004)).as("bound while running").isTrue();
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9004)).as("a running binding does not reach staging").isFalse();

            // Unbound while running: that group goes, the other binding stays.
            backend.change(List.of(change(false, webRunning)), () -> null);
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9002)).as("unbound").isFalse();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9004)).as("the other binding stays").isTrue();

            // A group edited: its rule moves from 9001 to 9002 for everything it applies to.
            backend.change(List.of(change(true, group(1, "global", true, false, tcp(OUTSIDE_IP, 9002)))), () -> null);
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9001)).as("the old rule went").isFalse();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9002)).as("the new rule holds").isTrue();

            // The global flag turned on for staging; then the group deleted.
            backend.change(List.of(change(true, group(1, "global", true, true, tcp(OUTSIDE_IP, 9002)))), () -> null);
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9002)).as("globally enabled for staging").isTrue();
            backend.change(List.of(change(false, group(1, "global", true, true, tcp(OUTSIDE_IP, 9002)))), () -> null);
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9002)).as("group deleted").isFalse();
            assertThat(k.tcp(k.c2, OUTSIDE_IP, 9002)).as("group deleted, staging too").isFalse();
            assertThat(k.tcp(k.c1, OUTSIDE_IP, 9004)).as("the other group stays").isTrue();
        } finally {
            nft.close();
        }
    }
}
