package io.silk.daemon.policy;

import static io.silk.daemon.policy.EnforcementTest.awaitContains;
import static io.silk.daemon.policy.KernelCell.C2_IP;
import static io.silk.daemon.policy.KernelCell.c2c;
import static io.silk.daemon.policy.KernelCell.inputs;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.policy.nftables.NftablesBackend;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.PolicyChange;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The nftables backend's own guarantees, against the real kernel with real packets. */
class NftablesKernelTest {

    KernelCell k;

    @BeforeEach
    void wire() {
        k = new KernelCell();
    }

    @AfterEach
    void unwire() {
        k.close();
    }

    static PolicyChange created(C2CPolicy p) {
        return PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setC2C(p).build();
    }

    static PolicyChange deleted(C2CPolicy p) {
        return PolicyChange.newBuilder().setKind(PolicyChange.Kind.DELETED).setC2C(p).build();
    }

    static void change(NftablesBackend backend, PolicyChange... changes) {
        backend.change(List.of(changes), () -> {
            throw new AssertionError("incremental");
        });
    }

    @Test
    void overlappingPortRangesChangeIncrementally() throws Exception {
        NftablesBackend backend = k.nftables(Ruleset.Logging.OFF);
        backend.prepare();
        for (int port : new int[] {8080, 8085, 8100, 8101}) {
            k.listen(k.c2, C2_IP, port, "tcp");
        }
        backend.apply(inputs(List.of(), List.of(), false));
        change(backend, created(c2c(1, "tcp", 8080, 8090)));
        change(backend, created(c2c(2, "tcp", 8085, 8100)));
        assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8100)).isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8101)).isFalse();
        change(backend, deleted(c2c(1, "tcp", 8080, 8090)));
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("only 8085-8100 left").isFalse();
        assertThat(k.tcp(k.c1, C2_IP, 8085)).isTrue();
        assertThat(k.nft("list", "chain", "inet", "silk", "c2c_ingress")).as("chains untouched by policies")
                .contains("@c2c_port", "@c2c_range").doesNotContain("8085");
    }

    @Test
    void aRestartedDaemonKeepsTheRulesUntilItAppliesAndReplacesThemWithoutAGap() throws Exception {
        Path received = k.listen(k.c2, C2_IP, 8080, "tcp");
        NftablesBackend first = k.nftables(Ruleset.Logging.OFF);
        first.prepare();
        first.apply(inputs(List.of(c2c(1, "tcp", 8080, 8080), c2c(2, "udp", 5000, 5000)), List.of(), false));
        Process client = k.start("ip", "netns", "exec", k.c1, "sh", "-c",
                "(echo before; sleep 1.5; echo after) | nc -N -w4 " + C2_IP + " 8080");
        awaitContains(received, "before");

        NftablesBackend second = k.nftables(Ruleset.Logging.OFF);
        assertThat(second.prepare()).as("not a fresh cell").isFalse();
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("prepare leaves the rules as they are").isTrue();
        second.apply(inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), false));
        assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
        assertThat(k.nft("list", "set", "inet", "silk", "c2c_port")).as("stale elements of the old process are gone")
                .doesNotContain("5000");
        assertThat(client.waitFor()).isZero();
        awaitContains(received, "after");
    }

    @Test
    void driftIsRepaired() throws Exception {
        k.listen(k.c2, C2_IP, 8080, "tcp");
        k.listen(k.c2, C2_IP, 8081, "tcp");
        NftablesBackend backend = k.nftables(Ruleset.Logging.OFF);
        backend.prepare();
        backend.apply(inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), false));

        k.nft("delete", "element", "inet", "silk", "c2c_port", "{ 10.255.1.3 . 0x1 . tcp . 8080 }");
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("removed behind the daemon's back").isFalse();
        backend.reconcile();
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("reconciled").isTrue();

        k.nft("delete", "table", "inet", "silk");
        change(backend, created(c2c(2, "tcp", 8081, 8081)));
        assertThat(k.tcp(k.c1, C2_IP, 8081)).as("a refused change writes the whole table").isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
    }

    @Test
    void anotherTablesDropDoesNotConfuseTheDaemon() throws Exception {
        k.listen(k.c2, C2_IP, 8080, "tcp");
        k.listen(k.c2, C2_IP, 8081, "tcp");
        NftablesBackend backend = k.nftables(Ruleset.Logging.OFF);
        backend.prepare();
        backend.apply(inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), false));
        k.nft("-f", writeTemp("""
                table inet firewall {
                  chain forward { type filter hook forward priority filter - 10; policy accept;
                    tcp dport 8080 drop
                  }
                }
                """).toString());
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("another table decided").isFalse();
        change(backend, created(c2c(2, "tcp", 8081, 8081)));
        assertThat(k.tcp(k.c1, C2_IP, 8081)).as("the daemon's changes still apply").isTrue();
        backend.reconcile();
        assertThat(k.nft("list", "tables")).contains("table inet firewall", "table inet silk");
        k.nft("delete", "table", "inet", "firewall");
        assertThat(k.tcp(k.c1, C2_IP, 8080)).as("the daemon's own rule was never lost").isTrue();
    }

    @Test
    void movingFromTheIptablesChainsKeepsAnAllowedConnectionUp() throws Exception {
        Path received = k.listen(k.c2, C2_IP, 8080, "tcp");
        PolicyRules.Inputs in = inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), false);
        IptablesBackend old = new IptablesBackend(k.iptables());
        old.prepare();
        old.apply(in);
        Process client = k.start("ip", "netns", "exec", k.c1, "sh", "-c",
                "(echo on-iptables; sleep 1.5; echo on-nftables) | nc -N -w4 " + C2_IP + " 8080");
        awaitContains(received, "on-iptables");

        NftablesBackend backend = k.nftables(Ruleset.Logging.OFF);
        assertThat(backend.prepare()).as("the old chains make it not fresh").isFalse();
        backend.apply(in);
        assertThat(k.iptables().save("filter")).as("old chains removed").doesNotContain("silk-");
        assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
        assertThat(k.tcp(k.c1, C2_IP, 8081)).isFalse();
        assertThat(client.waitFor()).isZero();
        awaitContains(received, "on-nftables");
    }

    static Path writeTemp(String text) throws Exception {
        Path f = java.nio.file.Files.createTempFile("silk-nft", ".nft");
        java.nio.file.Files.writeString(f, text);
        return f;
    }
}
