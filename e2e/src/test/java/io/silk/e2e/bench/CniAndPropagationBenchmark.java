package io.silk.e2e.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.silk.e2e.CniRuntime;
import io.silk.e2e.Lab;
import io.silk.e2e.LabExtension;
import io.silk.e2e.Silk;
import io.silk.netlink.Netlink;
import io.silk.netlink.Route;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CNI ADD/DEL of the silk plugin against the reference ptp + host-local plugins, side by side in
 * one cell namespace (interleaved, same process launch path), and the time from a lease being
 * confirmed by the controller to its route on another cell. Run with {@code ./dev bench-cni}.
 */
@Tag("benchmark")
@ExtendWith(LabExtension.class)
class CniAndPropagationBenchmark {

    static final int ITERATIONS = Integer.getInteger("silk.bench.iterations", 200);
    static final int LEASES = Integer.getInteger("silk.bench.leases", 200);

    record Stats(double p50, double p99, double mean) {
        static Stats of(List<Long> nanos) {
            double[] ms = nanos.stream().mapToDouble(n -> n / 1e6).sorted().toArray();
            return new Stats(ms[ms.length / 2], ms[Math.min(ms.length - 1, (int) (ms.length * 0.99))],
                    Arrays.stream(ms).average().orElse(0));
        }
    }

    @Test
    void cniAddDelAndLeasePropagation(Lab lab) throws Exception {
        StringBuilder report = new StringBuilder();
        { // the lab is LabExtension's: closed, and its files removed when this passes, after the test
            String ctl = lab.host("ctl", Silk.CONTROLLER_IP);
            String cell = lab.host("cella", "10.77.0.1");
            String other = lab.host("cellb", "10.77.0.2");
            Silk silk = new Silk(lab, "10.77.0.1", "10.77.0.2");
            silk.controller(ctl);
            // The daemons' default configuration: policy enforced.
            Process d = silk.daemon(cell, "10.77.0.1", "policy.enforce=true");
            Process d2 = silk.daemon(other, "10.77.0.2", "policy.enforce=true");
            silk.awaitHealthy(cell, d, "10.77.0.1");
            silk.awaitHealthy(other, d2, "10.77.0.2");

            // --- CNI ADD/DEL, interleaved ---
            CniRuntime runtime = new CniRuntime(silk.cniBin(), cell);
            ObjectNode silkConf = JsonNodeFactory.instance.objectNode().put("cniVersion", "1.0.0").put("name", "silk")
                    .put("type", "silk").put("daemonSocket", silk.socket("10.77.0.1").toString());
            ObjectNode ptpConf = JsonNodeFactory.instance.objectNode().put("cniVersion", "1.0.0").put("name", "ptp")
                    .put("type", "ptp");
            ptpConf.putObject("ipam").put("type", "host-local").put("subnet", "10.200.0.0/16")
                    .put("dataDir", lab.work().resolve("host-local").toString());
            List<Long> silkAdd = new ArrayList<>(), silkDel = new ArrayList<>(), ptpAdd = new ArrayList<>(), ptpDel = new ArrayList<>();
            int warmup = 10;
            for (int i = 0; i < ITERATIONS + warmup; i++) {
                String ns = lab.container("b" + i);
                String netns = Lab.netnsPath(ns).toString();
                boolean silkFirst = i % 2 == 0;
                for (int k = 0; k < 2; k++) {
                    boolean isSilk = (k == 0) == silkFirst;
                    ObjectNode conf = isSilk ? silkConf : ptpConf;
                    String ifname = isSilk ? "eth0" : "eth1";
                    var add = runtime.exec("ADD", conf.get("type").asText(), "bench-" + i, netns, ifname, conf, null);
                    if (add.exit() != 0) {
                        throw new AssertionError(conf.get("type") + " ADD failed: " + add.stdout());
                    }
                    var del = runtime.exec("DEL", conf.get("type").asText(), "bench-" + i, netns, ifname, conf, null);
                    if (del.exit() != 0) {
                        throw new AssertionError(conf.get("type") + " DEL failed: " + del.stdout());
                    }
                    if (i >= warmup) {
                        (isSilk ? silkAdd : ptpAdd).add(add.nanos());
                        (isSilk ? silkDel : ptpDel).add(del.nanos());
                    }
                }
                lab.removeNamespace(ns);
            }
            Stats sa = Stats.of(silkAdd), sd = Stats.of(silkDel), pa = Stats.of(ptpAdd), pd = Stats.of(ptpDel);
            report.append(String.format(Locale.ROOT, "CNI, %d iterations each (after %d warm-up), ms per call incl. process start:%n", ITERATIONS, warmup));
            report.append(String.format(Locale.ROOT, "%-22s %8s %8s %8s%n", "", "p50", "p99", "mean"));
            report.append(row("silk ADD", sa)).append(row("ptp+host-local ADD", pa))
                    .append(row("silk DEL", sd)).append(row("ptp+host-local DEL", pd));
            report.append(String.format(Locale.ROOT, "ratio silk/ptp: ADD p50 %.2fx, DEL p50 %.2fx%n%n", sa.p50() / pa.p50(), sd.p50() / pd.p50()));

            // --- lease -> route on another cell ---
            Map<String, Instant> seen = new ConcurrentHashMap<>();
            Map<String, Instant> acked = new ConcurrentHashMap<>();
            try (Netlink nl = Netlink.openIn(Lab.netnsPath(cell))) {
                Thread watcher = Thread.ofPlatform().start(() -> {
                    while (!Thread.currentThread().isInterrupted()) {
                        Instant now = Instant.now();
                        for (Route r : nl.routes()) {
                            if (r.protocol() == 90) {
                                seen.putIfAbsent(r.destination() + "/" + r.prefix(), now);
                            }
                        }
                        try {
                            Thread.sleep(1);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                List<String> cmd = List.of("ip", "netns", "exec", ctl, Lab.JAVA, "-cp", System.getProperty("java.class.path"),
                        RouteLatencyDriver.class.getName(), silk.pki().toString(), String.valueOf(LEASES), "50", Silk.CONTROLLER_IP);
                Process driver = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                try (BufferedReader out = new BufferedReader(new InputStreamReader(driver.getInputStream()))) {
                    for (String line; (line = out.readLine()) != null && !line.equals("DONE"); ) {
                        String[] p = line.split(" ");
                        acked.put(p[1], Instant.parse(p[2]));
                    }
                }
                driver.waitFor();
                Lab.await("all routes seen", Duration.ofSeconds(10), () -> seen.keySet().containsAll(acked.keySet()));
                watcher.interrupt();
                watcher.join();
            }
            List<Long> lat = new ArrayList<>();
            acked.forEach((subnet, t) -> lat.add(Math.max(0, Duration.between(t, seen.get(subnet)).toNanos())));
            Stats s = Stats.of(lat);
            report.append(String.format(Locale.ROOT, "lease confirmed by the controller -> route on another cell, %d leases, ms (1 ms polling):%n", lat.size()));
            report.append(row("propagation", s));
        }
        System.out.println("\n=== CNI and propagation benchmark ===\n" + report);
        Files.writeString(Path.of("target", "cni-benchmark.txt"), report.toString());
    }

    static String row(String name, Stats s) {
        return String.format(Locale.ROOT, "%-22s %8.2f %8.2f %8.2f%n", name, s.p50(), s.p99(), s.mean());
    }
}
