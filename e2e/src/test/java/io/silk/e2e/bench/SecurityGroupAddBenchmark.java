package io.silk.e2e.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.silk.e2e.CniRuntime;
import io.silk.e2e.Lab;
import io.silk.e2e.LabExtension;
import io.silk.e2e.Silk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CNI ADD latency on a cell enforcing dynamic security groups: a CF-shaped container attached and
 * detached on an empty cell, then on a cell with 250 containers in 50 spaces and 500
 * security-group rules (10 groups of 50 rules, each bound to 5 spaces), measured twice there (the
 * two loaded rounds show the machine's round-to-round spread). Run with {@code ./dev bench-asg}.
 */
@Tag("benchmark")
@ExtendWith(LabExtension.class)
class SecurityGroupAddBenchmark {

    static final int ITERATIONS = Integer.getInteger("silk.bench.iterations", 100);
    static final int CONTAINERS = Integer.getInteger("silk.bench.containers", 250);
    static final int SPACES = 50;
    static final int GROUPS = 10;
    static final int RULES_PER_GROUP = 50;
    static final String CELL = "10.77.0.1";

    static ObjectNode conf(Silk silk, String app, String space) {
        ObjectNode c = CniRuntime.plugin("silk").put("cniVersion", "1.0.0").put("name", "cf")
                .put("daemonSocket", silk.socket(CELL).toString());
        c.putObject("metadata").put("policy_group_id", app).put("app_id", app).put("space_id", space)
                .put("org_id", "org-1").put("container_workload", "app");
        return c;
    }

    /** ADD then DEL of fresh containers, ms per ADD (and DEL), after a warm-up. */
    static List<double[]> round(Lab lab, CniRuntime runtime, Silk silk, String name) {
        List<double[]> ms = new ArrayList<>();
        for (int i = 0; i < ITERATIONS + 10; i++) {
            String ns = lab.container(name + i);
            ObjectNode conf = conf(silk, "bench-app-" + i, "space-" + (i % SPACES));
            var add = runtime.exec("ADD", "silk", name + "-" + i, Lab.netnsPath(ns).toString(), "eth0", conf, null);
            if (add.exit() != 0) {
                throw new AssertionError("ADD failed: " + add.stdout());
            }
            var del = runtime.exec("DEL", "silk", name + "-" + i, Lab.netnsPath(ns).toString(), "eth0", conf, null);
            if (del.exit() != 0) {
                throw new AssertionError("DEL failed: " + del.stdout());
            }
            if (i >= 10) {
                ms.add(new double[] {add.nanos() / 1e6, del.nanos() / 1e6});
            }
            lab.removeNamespace(ns);
        }
        return ms;
    }

    static String row(String name, List<double[]> ms, int k) {
        double[] v = ms.stream().mapToDouble(a -> a[k]).sorted().toArray();
        return String.format(Locale.ROOT, "%-34s %8.2f %8.2f %8.2f%n", name, v[v.length / 2],
                v[Math.min(v.length - 1, (int) (v.length * 0.99))], java.util.Arrays.stream(v).average().orElse(0));
    }

    static double p50(List<double[]> ms) {
        double[] v = ms.stream().mapToDouble(a -> a[0]).sorted().toArray();
        return v[v.length / 2];
    }

    @Test
    void addLatencyWith250ContainersAnd500Rules(Lab lab) throws Exception {
        String ctl = lab.host("ctl", Silk.CONTROLLER_IP);
        String cell = lab.host("cella", CELL);
        Silk silk = new Silk(lab, CELL);
        silk.controller(ctl, 7443, 9464, "controller", "--silk.controller.embedded-database.port=15432");
        silk.policyServer(ctl, 15432);
        Process d = silk.daemon(cell, CELL, "policy.enforce=true", "policy.security-groups=dynamic");
        silk.awaitHealthy(cell, d, CELL);
        silk.awaitWatching(cell, CELL, true);
        CniRuntime runtime = new CniRuntime(silk.cniBin(), cell);

        List<double[]> before = round(lab, runtime, silk, "e");

        // 10 groups of 50 rules, each bound to 5 of the 50 spaces; 250 containers, 5 per space.
        for (int g = 0; g < GROUPS; g++) {
            StringBuilder body = new StringBuilder("{\"name\":\"bench-" + g + "\",\"rules\":[");
            for (int r = 0; r < RULES_PER_GROUP; r++) {
                body.append(r == 0 ? "" : ",").append("{\"protocol\":\"tcp\",\"destination\":\"10.").append(100 + g).append('.')
                        .append(r).append(".0/24\",\"ports\":\"").append(443 + r).append(",8000-8100\"}");
            }
            body.append("],\"relationships\":{\"running_spaces\":{\"data\":[");
            for (int s = 0; s < SPACES / GROUPS; s++) {
                body.append(s == 0 ? "" : ",").append("{\"guid\":\"space-").append(g * (SPACES / GROUPS) + s).append("\"}");
            }
            body.append("]}}}");
            var r = lab.in(ctl, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                    "Content-Type: application/json", "-d", body.toString(),
                    "http://127.0.0.1:4002/networking/v1/external/security_groups");
            if (!r.output().trim().equals("201")) {
                throw new AssertionError("create security group bench-" + g + ": " + r.output());
            }
        }
        for (int c = 0; c < CONTAINERS; c++) {
            String ns = lab.container("l" + c);
            var add = runtime.exec("ADD", "silk", "loaded-" + c, Lab.netnsPath(ns).toString(), "eth0",
                    conf(silk, "app-" + (c % 125), "space-" + (c % SPACES)), null);
            if (add.exit() != 0) {
                throw new AssertionError("ADD of container " + c + " failed: " + add.stdout());
            }
        }
        // Wait until the table holds the loaded cell's egress (every container with its profile) before measuring.
        Lab.await("egress profiles of 250 containers", Duration.ofSeconds(60), () -> {
            String m = lab.in(cell, "curl", "-sS", "http://127.0.0.1:9465/metrics").output();
            var x = java.util.regex.Pattern.compile("silk_policy_elements\\{set=\"container_profile\"} ([0-9.E]+)").matcher(m);
            return x.find() && Double.parseDouble(x.group(1)) >= CONTAINERS;
        });
        String metrics = lab.in(cell, "curl", "-sS", "http://127.0.0.1:9465/metrics").output();
        List<double[]> loaded = round(lab, runtime, silk, "f");
        List<double[]> after = round(lab, runtime, silk, "g");

        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "CNI on one cell, dynamic security groups, %d ADD+DEL each, ms incl. process start:%n",
                ITERATIONS));
        report.append(String.format(Locale.ROOT, "%-34s %8s %8s %8s%n", "", "p50", "p99", "mean"));
        report.append(row("ADD, empty cell", before, 0)).append(row("ADD, 250 containers + 500 rules", loaded, 0))
                .append(row("ADD, 250 containers + 500 rules, 2", after, 0))
                .append(row("DEL, empty cell", before, 1)).append(row("DEL, 250 containers + 500 rules", loaded, 1));
        report.append(String.format(Locale.ROOT, "ratio loaded/empty: ADD p50 %.2fx (second loaded round %.2fx)%n",
                p50(loaded) / p50(before), p50(after) / p50(before)));
        var elements = java.util.regex.Pattern.compile("silk_policy_elements\\{set=\"egress\"} ([0-9.E]+)").matcher(metrics);
        report.append("egress set elements on the loaded cell: ").append(elements.find() ? elements.group(1) : "?").append('\n');
        System.out.println("\n=== security groups: ADD latency benchmark ===\n" + report);
        Files.writeString(Path.of("target", "security-group-add-benchmark.txt"), report.toString());
    }
}
