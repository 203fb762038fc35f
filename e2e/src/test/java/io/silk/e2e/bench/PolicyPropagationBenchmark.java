package io.silk.e2e.bench;

import io.silk.e2e.CniRuntime;
import io.silk.e2e.Lab;
import io.silk.e2e.LabExtension;
import io.silk.e2e.Silk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Policy propagation: from the policy server's 200 to the rule being in the destination cell's
 * kernel. A lab with the controller, the policy server and one cell hosting a container of the
 * destination app; each iteration creates a policy on a new port with curl (in the controller's
 * namespace) and polls the cell's rules. Run with {@code ./dev bench-cni} (same tag, same lab
 * kind) or {@code -Dtest=PolicyPropagationBenchmark}.
 */
@Tag("benchmark")
@ExtendWith(LabExtension.class)
class PolicyPropagationBenchmark {

    static final int N = Integer.getInteger("silk.bench.policies", 100);

    @Test
    void apiToRule(Lab lab) throws Exception {
        StringBuilder report = new StringBuilder();
        { // the lab is LabExtension's: closed, and its files removed when this passes, after the test
            String ctl = lab.host("ctl", Silk.CONTROLLER_IP);
            String cell = lab.host("cella", "10.77.0.1");
            Silk silk = new Silk(lab, "10.77.0.1");
            silk.controller(ctl, 7443, 9464, "controller", "--silk.controller.embedded-database.port=15432");
            silk.policyServer(ctl, 15432);
            Process d = silk.daemon(cell, "10.77.0.1", "policy.enforce=true");
            silk.awaitHealthy(cell, d, "10.77.0.1");
            String ctr = lab.container("dest");
            var result = new CniRuntime(silk.cniBin(), cell).add(new CniRuntime.Network("silk", "1.0.0",
                    List.of(CniRuntime.plugin("silk").put("daemonSocket", silk.socket("10.77.0.1").toString()))),
                    "ctr-dest", Lab.netnsPath(ctr).toString(), "eth0", "SILK_APP_ID=app-dest");
            String ip = result.get("ips").get(0).get("address").asText().replace("/32", "");
            Lab.await("policy watch", Duration.ofSeconds(20), () -> silk.health(cell).contains("\"policies_watching\":true"));

            List<Long> nanos = new ArrayList<>();
            for (int i = 0; i < N + 5; i++) {
                int port = 20000 + i;
                String body = "{\"policies\":[{\"source\":{\"id\":\"app-src\"},\"destination\":{\"id\":\"app-dest\","
                        + "\"protocol\":\"tcp\",\"ports\":{\"start\":" + port + ",\"end\":" + port + "}}}]}";
                var post = lab.in(ctl, "curl", "-fsS", "-o", "/dev/null", "-H", "Content-Type: application/json", "-d", body,
                        "http://127.0.0.1:4002/networking/v1/external/policies");
                long acked = System.nanoTime();
                if (!post.ok()) {
                    throw new AssertionError("create failed: " + post.output());
                }
                String needle = ". tcp . " + port + " counter";
                Lab.await("element for port " + port, Duration.ofSeconds(10),
                        () -> lab.in(cell, "nft", "list", "set", "inet", "silk", "c2c_port").output().contains(needle));
                if (i >= 5) {
                    nanos.add(System.nanoTime() - acked);
                }
            }
            double[] ms = nanos.stream().mapToDouble(n -> n / 1e6).sorted().toArray();
            report.append(String.format(Locale.ROOT, "policy API 200 -> rule in the destination cell's kernel, %d policies, ms"
                    + " (polling nft every ~10 ms):%n%-12s %8s %8s %8s%n%-12s %8.1f %8.1f %8.1f%n", ms.length, "", "p50", "p99",
                    "mean", "propagation", ms[ms.length / 2], ms[Math.min(ms.length - 1, (int) (ms.length * 0.99))],
                    Arrays.stream(ms).average().orElse(0)));
        }
        System.out.println("\n=== policy propagation benchmark ===\n" + report);
        Files.writeString(Path.of("target", "policy-propagation-benchmark.txt"), report.toString());
    }
}
