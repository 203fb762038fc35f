package io.silk.daemon.policy.nftables;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.policy.PolicyRules;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.PolicyChange;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the backend writes, without a kernel: a change is its elements only, never a chain. */
class NftablesBackendTest {

    /** Records each transaction; can refuse the next one. */
    static final class RecordingNftables implements Nftables {
        final List<String> scripts = new ArrayList<>();
        boolean refuseNext;

        @Override
        public void run(String script) {
            if (refuseNext) {
                refuseNext = false;
                throw new NftablesException("Error: Could not process rule: No such file or directory");
            }
            scripts.add(script);
        }

        @Override
        public void elements(Transaction tx) {
            run(tx.script());
        }

        @Override
        public String json(String command) {
            return "{\"nftables\": []}";
        }

        @Override
        public void close() {}

        String last() {
            return scripts.getLast();
        }
    }

    RecordingNftables nft;
    NftablesBackend backend;

    static final PolicyRules.LocalContainer A = new PolicyRules.LocalContainer("10.255.1.2", "app-a");
    static final PolicyRules.LocalContainer B = new PolicyRules.LocalContainer("10.255.1.3", "app-b");
    static final PolicyRules.LocalContainer B2 = new PolicyRules.LocalContainer("10.255.1.4", "app-b");

    static PolicyRules.Inputs inputs(List<PolicyRules.LocalContainer> containers, List<C2CPolicy> c2c) {
        return new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16", containers, c2c, List.of(), false);
    }

    static C2CPolicy c2c(long id, int start, int end) {
        return C2CPolicy.newBuilder().setId(id).setSourceId("app-a").setSourceTag(1).setDestinationId("app-b")
                .setDestinationTag(2).setProtocol("tcp").setStartPort(start).setEndPort(end).build();
    }

    static PolicyChange created(C2CPolicy p) {
        return PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setC2C(p).build();
    }

    static PolicyChange deleted(C2CPolicy p) {
        return PolicyChange.newBuilder().setKind(PolicyChange.Kind.DELETED).setC2C(p).build();
    }

    void change(PolicyChange... changes) {
        backend.change(List.of(changes), () -> {
            throw new AssertionError("an incremental change must not need the whole inputs");
        });
    }

    @BeforeEach
    void start() {
        nft = new RecordingNftables();
        backend = new NftablesBackend(nft, null, Ruleset.Logging.OFF);
        assertThat(backend.prepare()).isTrue();
        backend.apply(inputs(List.of(A, B), List.of()));
    }

    @Test
    void theFirstApplyWritesTheChainsThenEmptiesAndFillsEverySet() {
        assertThat(nft.scripts).hasSize(2);
        assertThat(nft.scripts.get(0)).startsWith("table inet silk {").doesNotContain("delete table")
                .contains("flush chain inet silk forward\n")
                .contains("add rule inet silk forward ip daddr 10.255.1.0/24 jump c2c_ingress")
                .contains("add rule inet silk postrouting ip saddr 10.255.1.0/24 ip daddr != 10.255.0.0/16 masquerade");
        assertThat(nft.scripts.get(1)).startsWith("flush map inet silk container_tag\nflush map inet silk port_mappings\nflush set inet silk staging_containers\nflush set inet silk c2c_port\n");
    }

    @Test
    void aPolicyIsOneElementPerDestinationContainerAndItsTagsMarkTheContainers() {
        change(created(c2c(1, 8080, 8080)));
        assertThat(nft.last()).doesNotContain("chain", "rule", "table {")
                .contains("add element inet silk c2c_port {\n  10.255.1.3 . 0x1 . 6 . 8080\n}")
                .contains("10.255.1.2 : 0x1", "10.255.1.3 : 0x2");

        int before = nft.scripts.size();
        change(created(c2c(2, 8080, 8080)));
        assertThat(nft.scripts).as("the same element for a second policy: nothing to write").hasSize(before);
        change(deleted(c2c(1, 8080, 8080)));
        assertThat(nft.scripts).as("still held by policy 2").hasSize(before);
        change(deleted(c2c(2, 8080, 8080)));
        assertThat(nft.last()).contains("delete element inet silk c2c_port {\n  10.255.1.3 . 0x1 . 6 . 8080\n}")
                .containsPattern("delete element inet silk container_tag \\{\n  10\\.255\\.1\\.[23],\n  10\\.255\\.1\\.[23]\n}")
                .doesNotContain("add ");
    }

    @Test
    void overlappingRangesAreWrittenMergedAndSplitAgainInOneTransaction() {
        change(created(c2c(1, 8080, 8090)));
        assertThat(nft.last()).contains("10.255.1.3 . 0x1 . 6 . 8080-8090");
        change(created(c2c(2, 8085, 8100)));
        assertThat(nft.last()).contains("delete element inet silk c2c_range {\n  10.255.1.3 . 0x1 . 6 . 8080-8090\n}")
                .contains("add element inet silk c2c_range {\n  10.255.1.3 . 0x1 . 6 . 8080-8100\n}");
        assertThat(nft.last().indexOf("delete")).isLessThan(nft.last().indexOf("add"));
        change(deleted(c2c(1, 8080, 8090)));
        assertThat(nft.last()).contains("delete element inet silk c2c_range {\n  10.255.1.3 . 0x1 . 6 . 8080-8100\n}")
                .contains("add element inet silk c2c_range {\n  10.255.1.3 . 0x1 . 6 . 8085-8100\n}");
    }

    @Test
    void aContainerArrivingOrLeavingWritesItsOwnElementsOnly() {
        backend.apply(inputs(List.of(A, B), List.of(c2c(1, 8080, 8080))));
        backend.apply(inputs(List.of(A, B, B2), List.of(c2c(1, 8080, 8080))));
        assertThat(nft.last()).doesNotContain("chain").contains("10.255.1.4 . 0x1 . 6 . 8080", "10.255.1.4 : 0x2")
                .doesNotContain("10.255.1.3");
        backend.apply(inputs(List.of(A, B), List.of(c2c(1, 8080, 8080))));
        assertThat(nft.last()).contains("delete element inet silk c2c_port {\n  10.255.1.4 . 0x1 . 6 . 8080\n}")
                .contains("delete element inet silk container_tag {\n  10.255.1.4\n}").doesNotContain("add ");
    }

    @Test
    void egressBoxesOfOneContainerAreWrittenDisjoint() {
        EgressPolicy all = EgressPolicy.newBuilder().setId(5).setSourceId("app-a").setSourceTag(1).setProtocol("all")
                .setStartIp("192.0.2.0").setEndIp("192.0.2.255").build();
        EgressPolicy https = EgressPolicy.newBuilder().setId(6).setSourceId("app-a").setSourceTag(1).setProtocol("tcp")
                .setStartIp("192.0.2.128").setEndIp("192.0.3.10").setStartPort(443).setEndPort(443).build();
        backend.change(List.of(PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setEgress(all).build(),
                PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setEgress(https).build()), () -> null);
        assertThat(nft.last()).contains("0x1 . 192.0.2.0-192.0.2.255 . 0-255 . 0-65535", "0x1 . 192.0.3.0-192.0.3.10 . 6-6 . 443-443",
                "10.255.1.2 : 0x1").doesNotContain("192.0.2.128");
    }

    @Test
    void aRefusedChangeWritesTheWholeTableFromWhatTheDaemonKnows() {
        change(created(c2c(1, 8080, 8080)));
        nft.refuseNext = true;
        change(created(c2c(2, 9090, 9090)));
        assertThat(nft.last()).startsWith("flush map inet silk container_tag\n")
                .contains("10.255.1.3 . 0x1 . 6 . 8080", "10.255.1.3 . 0x1 . 6 . 9090");
        assertThat(nft.scripts.get(nft.scripts.size() - 2)).contains("flush chain inet silk forward");
    }

    @Test
    void reconcileWritesEverythingAgainWithoutDeletingTheTable() {
        change(created(c2c(1, 8080, 8080)), created(c2c(2, 9000, 9100)));
        backend.reconcile();
        assertThat(nft.scripts.get(nft.scripts.size() - 2)).doesNotContain("delete table").contains("flush chain inet silk forward");
        assertThat(nft.last()).doesNotContain("flush set")
                .contains("10.255.1.3 . 0x1 . 6 . 8080", "10.255.1.3 . 0x1 . 6 . 9000-9100", "10.255.1.2 : 0x1");
    }

    /**
     * A cell with many containers and security-group rules: a container arriving in a space whose
     * containers it shares its egress with writes one map element; a group's change rewrites the
     * boxes of the profiles it is part of, once each, whatever the number of their containers.
     */
    @Test
    void onALoadedCellAContainerArrivingWritesOnlyItsOwnEgress() {
        nft = new RecordingNftables();
        backend = new NftablesBackend(nft, null, Ruleset.Logging.OFF, Ruleset.DenyNetworks.NONE,
                NftablesBackend.SecurityGroupMode.DYNAMIC);
        backend.prepare();
        List<io.silk.proto.v1.SecurityGroup> groups = new java.util.ArrayList<>();
        List<io.silk.proto.v1.SecurityGroupBinding> bindings = new java.util.ArrayList<>();
        for (int g = 0; g < 10; g++) {
            var b = io.silk.proto.v1.SecurityGroup.newBuilder().setId(g).setGuid("g" + g).setName("g" + g);
            for (int r = 0; r < 50; r++) {
                b.addRules(io.silk.proto.v1.SecurityGroupRule.newBuilder().setProtocol("tcp").setIcmpType(-1).setIcmpCode(-1)
                        .addDestinations(io.silk.proto.v1.AddressRange.newBuilder().setStart("10." + (100 + g) + "." + r + ".0")
                                .setEnd("10." + (100 + g) + "." + r + ".255"))
                        .addPorts(io.silk.proto.v1.PortRange.newBuilder().setStart(443 + r).setEnd(443 + r))
                        .addPorts(io.silk.proto.v1.PortRange.newBuilder().setStart(8000).setEnd(8100)));
            }
            groups.add(b.build());
            for (int s = 0; s < 5; s++) {
                bindings.add(io.silk.proto.v1.SecurityGroupBinding.newBuilder().setId(g * 5 + s).setSecurityGroupGuid("g" + g)
                        .setSpaceId("space-" + (g * 5 + s)).setLifecycle("running").build());
            }
        }
        List<PolicyRules.LocalContainer> containers = new java.util.ArrayList<>();
        for (int c = 0; c < 250; c++) {
            containers.add(new PolicyRules.LocalContainer("10.255." + (1 + c / 250) + "." + (2 + c % 250),
                    new io.silk.daemon.ipam.ContainerMetadata("app-" + c % 125, "space-" + c % 50, "org", "app", List.of())));
        }
        long t0 = System.nanoTime();
        backend.apply(new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16", containers, List.of(), List.of(), groups, bindings, false));
        long whole = System.nanoTime() - t0;
        List<PolicyRules.LocalContainer> more = new java.util.ArrayList<>(containers);
        more.add(new PolicyRules.LocalContainer("10.255.2.9",
                new io.silk.daemon.ipam.ContainerMetadata("app-new", "space-7", "org", "app", List.of())));
        int before = nft.scripts.size();
        long t1 = System.nanoTime();
        backend.apply(new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16", more, List.of(), List.of(), groups, bindings, false));
        long one = System.nanoTime() - t1;
        System.out.printf("loaded cell: whole apply %d ms, one container more %d ms%n", whole / 1_000_000, one / 1_000_000);
        assertThat(nft.scripts).hasSize(before + 1);
        assertThat(backend.elementCounts().get(Ruleset.EGRESS)).as("10 profiles (a group's 5 spaces share one) of 100 boxes")
                .isEqualTo(1000);
        String tx = nft.last();
        assertThat(tx).as("one map element: its space's profile exists").matches("(?s)add element inet silk container_profile \\{\\n  10\\.255\\.2\\.9 : 0x[0-9a-f]+\\n}\\n");

        // The group of space-7 edited: its spaces' one profile is written anew, once, and their 25
        // containers moved to it; no other group's boxes are touched.
        var edited = groups.get(1).toBuilder().setRules(0, groups.get(1).getRules(0).toBuilder().clearPorts()
                .addPorts(io.silk.proto.v1.PortRange.newBuilder().setStart(9443).setEnd(9443))).build();
        backend.change(List.of(PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setSecurityGroup(edited).build()), () -> null);
        String groupTx = nft.last();
        assertThat(groupTx).contains("9443-9443").doesNotContain(". 10.100.").doesNotContain(". 10.102.");
        assertThat(groupTx.lines().filter(l -> l.matches("\\s+10\\.255\\.\\d+\\.\\d+ : 0x[0-9a-f]+,?")).count())
                .as("the 25 containers of its 5 spaces (and the one added above)").isEqualTo(26);
        assertThat(groupTx.lines().filter(l -> l.contains("9443-9443")).count()).as("its 5 spaces share one profile").isEqualTo(1);
    }
}
