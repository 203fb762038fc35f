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
        assertThat(nft.last()).contains("10.255.1.2 . 192.0.2.0-192.0.2.255 . 0-255 . 0-65535",
                "10.255.1.2 . 192.0.3.0-192.0.3.10 . 6-6 . 443-443").doesNotContain("192.0.2.128");
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
}
