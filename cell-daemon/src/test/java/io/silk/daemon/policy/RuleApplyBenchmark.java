package io.silk.daemon.policy;

import io.silk.proto.v1.C2CPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * How long one cell takes to apply its policy rules: the whole set at 1,000 and 10,000 rules, and
 * one change among 10,000 (render + iptables-restore, as the daemon does it), inside a namespace
 * made for the run. Run with {@code ./dev bench-policy}.
 */
@Tag("benchmark")
class RuleApplyBenchmark {

    static final int RUNS = Integer.getInteger("silk.bench.runs", 15);

    static PolicyRules.Inputs inputs(int rules, int variant) {
        // 100 local containers of 100 apps; rules spread over them, each a distinct source tag/port.
        List<PolicyRules.LocalContainer> containers = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            containers.add(new PolicyRules.LocalContainer("10.255.1." + (i + 2), "app-" + i));
        }
        List<C2CPolicy> policies = new ArrayList<>();
        for (int r = 0; r < rules; r++) {
            int port = r == 0 ? 10000 + variant : 20000 + r % 40000;
            policies.add(C2CPolicy.newBuilder().setId(r).setSourceId("src-" + r).setSourceTag(200 + r % 60000)
                    .setDestinationId("app-" + r % 100).setDestinationTag(1 + r % 100).setProtocol(r % 2 == 0 ? "tcp" : "udp")
                    .setStartPort(port).setEndPort(port).build());
        }
        return new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16", containers, policies, List.of(), false);
    }

    static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    static double p99(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) (s.length * 0.99))] / 1e6;
    }

    @Test
    void applyTimes() throws Exception {
        String ns = "skbench-" + Long.toHexString(System.nanoTime() & 0xffffff);
        new ProcessBuilder("ip", "netns", "add", ns).start().waitFor();
        StringBuilder report = new StringBuilder();
        try {
            Iptables iptables = new Iptables(List.of("ip", "netns", "exec", ns));
            iptables.ensureHooks();
            report.append(String.format(Locale.ROOT, "%-34s %9s %9s%n", "ms (render + iptables-restore)", "p50", "p99"));
            for (int rules : new int[] {1_000, 10_000}) {
                long[] full = new long[RUNS];
                for (int i = 0; i < RUNS; i++) {
                    iptables.restore(PolicyRules.render(inputs(10, 0)).full()); // from a small set each time
                    long t0 = System.nanoTime();
                    iptables.restore(PolicyRules.render(inputs(rules, 0)).full());
                    full[i] = System.nanoTime() - t0;
                }
                report.append(String.format(Locale.ROOT, "%-34s %9.1f %9.1f%n", "apply " + rules + " rules", median(full), p99(full)));
            }
            PolicyRules.Rendered before = PolicyRules.render(inputs(10_000, 0));
            iptables.restore(before.full());
            long[] change = new long[RUNS];
            for (int i = 0; i < RUNS; i++) {
                long t0 = System.nanoTime();
                PolicyRules.Rendered now = PolicyRules.render(inputs(10_000, i + 1));
                iptables.restore(now.diff(before));
                change[i] = System.nanoTime() - t0;
                before = now;
            }
            report.append(String.format(Locale.ROOT, "%-34s %9.1f %9.1f%n", "change 1 rule among 10000", median(change), p99(change)));
        } finally {
            new ProcessBuilder("ip", "netns", "delete", ns).start().waitFor();
        }
        System.out.println("\n=== policy rule apply benchmark (" + RUNS + " runs each) ===\n" + report);
        Files.writeString(Path.of("target", "policy-rules-benchmark.txt"), report.toString());
    }
}
