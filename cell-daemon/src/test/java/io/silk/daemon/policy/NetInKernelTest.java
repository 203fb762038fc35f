package io.silk.daemon.policy;

import static io.silk.daemon.policy.KernelCell.C2_IP;
import static io.silk.daemon.policy.KernelCell.CELL_IP;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.ipam.ContainerMetadata.PortMapping;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * NetIn with default deny on: Cloud Foundry's router reaches an app through a port of the cell's
 * own address, DNAT'ed to the container (by the daemon's port mappings, or by a chained portmap's
 * rule in another table); that traffic is not C2C traffic and gets in, while overlay traffic to the
 * same container is still refused without a policy.
 */
class NetInKernelTest {

    KernelCell k;

    @BeforeEach
    void wire() {
        k = new KernelCell();
    }

    @AfterEach
    void unwire() {
        k.close();
    }

    static PolicyRules.Inputs withMapping() {
        return new PolicyRules.Inputs(KernelCell.SUBNET, KernelCell.OVERLAY, List.of(
                new PolicyRules.LocalContainer(KernelCell.C1_IP, "app-a"),
                new PolicyRules.LocalContainer(C2_IP, "app-b", List.of(new PortMapping(61001, 8080, "tcp")))),
                List.of(), List.of(), false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"nftables", "iptables"})
    void trafficDnatedInByAChainedPortmapReachesTheContainerWhateverTheC2CPolicies(String kind) throws Exception {
        PolicyBackend backend = k.backend(kind);
        backend.prepare();
        backend.apply(KernelCell.inputs(List.of(), List.of(), false));
        k.listen(k.c2, C2_IP, 8080, "tcp");
        // What the portmap plugin writes, in iptables' nat table (another table than the daemon's).
        KernelCell.sh("ip", "netns", "exec", k.cell, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", CELL_IP, "-p", "tcp",
                "--dport", "61002", "-j", "DNAT", "--to-destination", C2_IP + ":8080");
        assertThat(k.tcp(k.outside, CELL_IP, 61002)).as("the router through the host port").isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("overlay traffic still needs a policy").isFalse();
        assertThat(k.tcp(k.outside, C2_IP, 8080)).as("not DNAT'ed: no way in").isFalse();
    }

    @org.junit.jupiter.api.Test
    void theDaemonsOwnPortMappingsDnatTheCellsPortToTheContainer() throws Exception {
        PolicyBackend backend = k.backend("nftables");
        backend.prepare();
        k.listen(k.c2, C2_IP, 8080, "tcp");
        backend.apply(withMapping());
        assertThat(k.tcp(k.outside, CELL_IP, 61001)).as("the router through the host port").isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("overlay traffic still needs a policy").isFalse();

        backend.apply(KernelCell.inputs(List.of(), List.of(), false));
        assertThat(k.tcp(k.outside, CELL_IP, 61001)).as("mapping gone with the container's attachment").isFalse();
        assertThat(k.nft("list", "map", "inet", "silk", "port_mappings")).doesNotContain("61001");
    }

    /**
     * With an ingress tag (cf's ingress_tag), the router's DNAT'ed traffic is a C2C source: refused
     * until a policy from the tag's group allows that port, then let in; overlay traffic unchanged.
     */
    @org.junit.jupiter.api.Test
    void withAnIngressTagTheRoutersTrafficNeedsAPolicyFromTheRoutersGroup() throws Exception {
        io.silk.daemon.policy.nftables.KernelNftables nft = io.silk.daemon.policy.nftables.KernelNftables.openIn(k.netns(k.cell));
        try {
            var backend = new io.silk.daemon.policy.nftables.NftablesBackend(nft, null,
                    io.silk.daemon.policy.nftables.Ruleset.Logging.OFF, io.silk.daemon.policy.nftables.Ruleset.DenyNetworks.NONE,
                    io.silk.daemon.policy.nftables.NftablesBackend.SecurityGroupMode.STATIC, 0x4);
            backend.prepare();
            k.listen(k.c2, C2_IP, 8080, "tcp");
            backend.apply(withMapping());
            assertThat(k.tcp(k.outside, CELL_IP, 61001)).as("no policy from the router's group yet").isFalse();

            var fromRouter = io.silk.proto.v1.C2CPolicy.newBuilder().setId(1).setSourceId("INGRESS_ROUTER").setSourceTag(0x4)
                    .setDestinationId("app-b").setDestinationTag(0x2).setProtocol("tcp").setStartPort(8080).setEndPort(8080).build();
            backend.change(List.of(io.silk.proto.v1.PolicyChange.newBuilder().setKind(io.silk.proto.v1.PolicyChange.Kind.CREATED)
                    .setC2C(fromRouter).build()), () -> null);
            assertThat(k.tcp(k.outside, CELL_IP, 61001)).as("the router's policy lets it in").isTrue();
            assertThat(k.tcp(k.c1, C2_IP, 8080)).as("app-a has no policy: overlay traffic still refused").isFalse();
        } finally {
            nft.close();
        }
    }
}
