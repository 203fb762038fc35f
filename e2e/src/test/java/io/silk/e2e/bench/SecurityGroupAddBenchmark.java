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
 * CNI ADD latency on a cell enforcing dynamic security groups, side by side: two cells of one
 * controller, one empty and one holding 250 containers in 50 spaces under 500 security-group
 * rules (10 groups of 50 rules, each bound to 5 spaces). CF-shaped containers are attached and
 * detached on the two cells in turn, the same app and space on each, so that the machine's drift
 * (±12 % from one round to the next here) falls on both alike; the pass is run twice. Run with
 * {@code ./dev bench-asg}.
 */
@Tag("benchmark")
@ExtendWith(LabExtension.class)
class SecurityGroupAddBenchmark {

    static final int ITERATIONS = Integer.getInteger("silk.bench.iterations", 100);
    static final int CONTAINERS = Integer.getInteger("silk.bench.containers", 250);
    static final int PASSES = 2;
    static final int SPACES = 50;
    static final int GROUPS = 10;
    static final int RULES_PER_GROUP = 50;
    static final String LOADED = "10.77.0.1";
    static final String EMPTY = "10.77.0.2";

    /** One cell under test: its namespace, its runtime, its daemon's socket. */
    record Cell(String ip, String ns, CniRuntime runtime) {}

    static ObjectNode conf(Silk silk, String cellIp, String app, String space) {
        ObjectNode c = CniRuntime.plugin("silk").put("cniVersion", "1.0.0").put("name", "cf")
                .put("daemonSocket", silk.socket(cellIp).toString());
        c.putObject("metadata").put("policy_group_id", app).put("app_id", app).put("space_id", space)
                .put("org_id", "org-1").put("container_workload", "app");
        return c;
    }

    /** ADD then DEL of one fresh container on the cell: {ADD ms, DEL ms}, process start included. */
    static double[] addDel(Lab lab, Silk silk, Cell cell, String name, String app, String space) {
        String ns = lab.container(name);
        ObjectNode conf = conf(silk, cell.ip(), app, space);
        var add = cell.runtime().exec("ADD", "silk", name, Lab.netnsPath(ns).toString(), "eth0", conf, null);
        if (add.exit() != 0) {
            throw new AssertionError("ADD on " + cell.ip() + " failed: " + add.stdout());
        }
        var del = cell.runtime().exec("DEL", "silk", name, Lab.netnsPath(ns).toString(), "eth0", conf, null);
        if (del.exit() != 0) {
            throw new AssertionError("DEL on " + cell.ip() + " failed: " + del.stdout());
        }
        lab.removeNamespace(ns);
        return new double[] {add.nanos() / 1e6, del.nanos() / 1e6};
    }

    static String row(String name, List<double[]> ms, int k) {
        double[] v = ms.stream().mapToDouble(a -> a[k]).sorted().toArray();
        return String.format(Locale.ROOT, "%-38s %8.2f %8.2f %8.2f%n", name, v[v.length / 2],
                v[Math.min(v.length - 1, (int) (v.length * 0.99))], java.util.Arrays.stream(v).average().orElse(0));
    }

    static double p50(List<double[]> ms, int k) {
        double[] v = ms.stream().mapToDouble(a -> a[k]).sorted().toArray();
        return v[v.length / 2];
    }

    @Test
    void addLatencyWith250ContainersAnd500Rules(Lab lab) throws Exception {
        String ctl = lab.host("ctl", Silk.CONTROLLER_IP);
        Silk silk = new Silk(lab, LOADED, EMPTY);
        silk.controller(ctl, 7443, 9464, "controller", "--silk.controller.embedded-database.port=15432");
        silk.policyServer(ctl, 15432);
        List<Cell> cells = new ArrayList<>();
        for (String ip : List.of(LOADED, EMPTY)) {
            String ns = lab.host(ip.equals(LOADED) ? "cella" : "cellb", ip);
            Process d = silk.daemon(ns, ip, "policy.enforce=true", "policy.security-groups=dynamic");
            silk.awaitHealthy(ns, d, ip);
            silk.awaitWatching(ns, ip, true);
            cells.add(new Cell(ip, ns, new CniRuntime(silk.cniBin(), ns)));
        }
        Cell loaded = cells.get(0);
        Cell empty = cells.get(1);

        // 10 groups of 50 rules, each bound to 5 of the 50 spaces; 250 containers, 5 per space, on one cell.
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
            var add = loaded.runtime().exec("ADD", "silk", "loaded-" + c, Lab.netnsPath(ns).toString(), "eth0",
                    conf(silk, LOADED, "app-" + (c % 125), "space-" + (c % SPACES)), null);
            if (add.exit() != 0) {
                throw new AssertionError("ADD of container " + c + " failed: " + add.stdout());
            }
        }
        // Wait until the table holds the loaded cell's egress (every container with its profile) before measuring.
        Lab.await("egress profiles of 250 containers", Duration.ofSeconds(60), () -> {
            String m = lab.in(loaded.ns(), "curl", "-sS", "http://127.0.0.1:9465/metrics").output();
            var x = java.util.regex.Pattern.compile("silk_policy_elements\\{set=\"container_profile\"} ([0-9.E]+)").matcher(m);
            return x.find() && Double.parseDouble(x.group(1)) >= CONTAINERS;
        });
        String metrics = lab.in(loaded.ns(), "curl", "-sS", "http://127.0.0.1:9465/metrics").output();

        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "CNI on two cells with dynamic security groups, %d ADD+DEL each per pass,"
                + " in turn on the empty and the loaded cell, ms incl. process start:%n", ITERATIONS));
        report.append(String.format(Locale.ROOT, "%-38s %8s %8s %8s%n", "", "p50", "p99", "mean"));
        for (int pass = 1; pass <= PASSES; pass++) {
            List<double[]> onEmpty = new ArrayList<>();
            List<double[]> onLoaded = new ArrayList<>();
            for (int i = 0; i < ITERATIONS + 10; i++) {
                String app = "bench-app-" + pass + "-" + i;
                String space = "space-" + (i % SPACES);
                // Alternate which cell goes first, so neither always follows the other's DEL.
                boolean emptyFirst = i % 2 == 0;
                double[] e;
                double[] l;
                if (emptyFirst) {
                    e = addDel(lab, silk, empty, "e" + pass + "-" + i, app, space);
                    l = addDel(lab, silk, loaded, "f" + pass + "-" + i, app, space);
                } else {
                    l = addDel(lab, silk, loaded, "f" + pass + "-" + i, app, space);
                    e = addDel(lab, silk, empty, "e" + pass + "-" + i, app, space);
                }
                if (i >= 10) {
                    onEmpty.add(e);
                    onLoaded.add(l);
                }
            }
            report.append(row("ADD, empty cell, pass " + pass, onEmpty, 0))
                    .append(row("ADD, 250 containers + 500 rules, pass " + pass, onLoaded, 0))
                    .append(row("DEL, empty cell, pass " + pass, onEmpty, 1))
                    .append(row("DEL, 250 containers + 500 rules, pass " + pass, onLoaded, 1));
            report.append(String.format(Locale.ROOT, "pass %d ratio loaded/empty: ADD p50 %.2fx, DEL p50 %.2fx%n", pass,
                    p50(onLoaded, 0) / p50(onEmpty, 0), p50(onLoaded, 1) / p50(onEmpty, 1)));
        }
        var elements = java.util.regex.Pattern.compile("silk_policy_elements\\{set=\"egress\"} ([0-9.E]+)").matcher(metrics);
        report.append("egress set elements on the loaded cell: ").append(elements.find() ? elements.group(1) : "?").append('\n');
        System.out.println("\n=== security groups: ADD latency benchmark ===\n" + report);
        Files.writeString(Path.of("target", "security-group-add-benchmark.txt"), report.toString());
    }
}
