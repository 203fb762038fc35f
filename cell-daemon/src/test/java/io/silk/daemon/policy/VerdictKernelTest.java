package io.silk.daemon.policy;

import static io.silk.daemon.policy.KernelCell.C1_IP;
import static io.silk.daemon.policy.KernelCell.C2_IP;
import static io.silk.daemon.policy.KernelCell.OUTSIDE_IP;
import static io.silk.daemon.policy.KernelCell.c2c;
import static io.silk.daemon.policy.KernelCell.inputs;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.silk.daemon.policy.nftables.KernelNftables;
import io.silk.daemon.policy.nftables.NftablesBackend;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.daemon.policy.verdict.AllowedTraffic;
import io.silk.daemon.policy.verdict.Verdict;
import io.silk.daemon.policy.verdict.VerdictLog;
import io.silk.netlink.NflogPacket;
import io.silk.netlink.NflogSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Verdicts from the kernel: packets the table refuses (and, when asked, new connections it lets
 * in) reach the daemon through NFLOG and become lines naming both apps and counters per app pair;
 * what the policies let in is counted from the kernel's per-element counters.
 */
class VerdictKernelTest {

    static final int GROUP = 4242;
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

    /** Verdicts read from NFLOG and recorded, up to the first that {@code last} accepts (or for 5 s). */
    static List<Verdict> readUntil(NflogSocket nflog, VerdictLog verdicts, java.util.function.Predicate<Verdict> last) {
        List<Verdict> seen = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            for (NflogPacket p : nflog.receive(Duration.ofMillis(200))) {
                Verdict v = verdicts.record(p);
                if (v != null) {
                    seen.add(v);
                    if (last.test(v)) {
                        return seen;
                    }
                }
            }
        }
        return seen;
    }

    @Test
    void deniedPacketsAreNamedAndCountedPerAppPair() throws Exception {
        NftablesBackend backend = k.nftables(new Ruleset.Logging(true, true, GROUP, 1000));
        nflog = NflogSocket.openIn(k.netns(k.cell), GROUP);
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        VerdictLog verdicts = new VerdictLog(backend, metrics, 10, Clock.systemUTC());
        k.listen(k.c2, C2_IP, 8080, "tcp");
        k.listen(k.c2, C2_IP, 8081, "tcp");
        backend.prepare();
        backend.apply(inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), true));

        assertThat(k.tcp(k.c1, C2_IP, 8081)).isFalse();
        List<Verdict> denied = readUntil(nflog, verdicts, v -> v.kind() == Verdict.Kind.DENIED_INGRESS);
        assertThat(denied).isNotEmpty();
        assertThat(denied.getLast().line())
                .isEqualTo("denied app=app-a(" + C1_IP + ") -> app=app-b(" + C2_IP + ") tcp/8081: policies allow only tcp/8080");
        assertThat(metrics.get("silk.policy.verdict.packets").tags("verdict", "denied", "direction", "ingress",
                "source_app", "app-a", "destination_app", "app-b").counter().count()).isGreaterThanOrEqualTo(1);
        assertThat(metrics.get("silk.policy.verdict.bytes").tags("verdict", "denied", "source_app", "app-a")
                .counter().count()).isGreaterThanOrEqualTo(60);

        assertThat(k.tcp(k.c1, KernelCell.OUTSIDE_IP, 9999)).isFalse();
        // Each read waits for its own kind: a late packet of the step before must not take its place.
        List<Verdict> egress = readUntil(nflog, verdicts, v -> v.kind() == Verdict.Kind.DENIED_EGRESS);
        assertThat(egress).extracting(Verdict::line)
                .contains("denied app=app-a(" + C1_IP + ") -> " + OUTSIDE_IP + " tcp/9999: no security group or egress policy allows it");

        assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
        assertThat(readUntil(nflog, verdicts, v -> v.kind() == Verdict.Kind.ALLOWED_INGRESS)).extracting(Verdict::line)
                .contains("allowed app=app-a(" + C1_IP + ") -> app=app-b(" + C2_IP + ") tcp/8080: a policy allows it");
        assertThat(verdicts.recent()).extracting(Verdict::kind).contains(Verdict.Kind.DENIED_INGRESS,
                Verdict.Kind.DENIED_EGRESS, Verdict.Kind.ALLOWED_INGRESS);
    }

    @Test
    void allowedTrafficIsCountedFromTheKernelsCountersAcrossAWholeWrite() throws Exception {
        KernelNftables nft = KernelNftables.openIn(k.netns(k.cell));
        try {
            NftablesBackend backend = new NftablesBackend(nft, null, Ruleset.Logging.OFF);
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            AllowedTraffic allowed = new AllowedTraffic(nft::json, backend, metrics);
            k.listen(k.c2, C2_IP, 8080, "tcp");
            backend.prepare();
            PolicyRules.Inputs in = inputs(List.of(c2c(1, "tcp", 8080, 8080)), List.of(), false);
            backend.apply(in);
            assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
            allowed.read();
            double packets = metrics.get("silk.policy.verdict.packets").tags("verdict", "allowed", "source_app", "app-a",
                    "destination_app", "app-b").functionCounter().count();
            assertThat(packets).as("the SYN is counted by the element; replies are established").isGreaterThanOrEqualTo(1);

            // A lease change writes the sets anew (counters start at 0): totals only grow.
            backend.apply(new PolicyRules.Inputs(KernelCell.SUBNET, "10.255.0.0/15", in.containers(), in.c2c(), in.egress(), false));
            assertThat(k.tcp(k.c1, C2_IP, 8080)).isTrue();
            allowed.read();
            assertThat(metrics.get("silk.policy.verdict.packets").tags("verdict", "allowed", "source_app", "app-a")
                    .functionCounter().count()).isGreaterThan(packets);
        } finally {
            nft.close();
        }
    }
}
