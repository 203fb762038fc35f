package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The CNI contract on a real cell: commands, versions, errors, chaining, concurrency. */
@ExtendWith(LabExtension.class)
class CniPluginEndToEndTest {

    static final String CELL = "10.77.0.1";

    static Lab lab;
    static Silk silk;
    static String cell;
    static Process daemon;
    static CniRuntime runtime;

    @BeforeAll
    static void upTheLab(Lab made) throws Exception {
        lab = made;
        String ctl = lab.host("ctl", Silk.CONTROLLER_IP);
        cell = lab.host("cell", CELL);
        silk = new Silk(lab, CELL, "10.77.0.9");
        silk.controller(ctl);
        daemon = silk.daemon(cell, CELL);
        silk.awaitHealthy(cell, daemon, CELL);
        runtime = new CniRuntime(silk.cniBin(), cell);
    }

    static ObjectNode silkConf() {
        return CniRuntime.plugin("silk").put("daemonSocket", silk.socket(CELL).toString());
    }

    static CniRuntime.Network net(String version, ObjectNode... plugins) {
        return new CniRuntime.Network("silk-test", version, List.of(plugins));
    }

    static ObjectNode config(String version) {
        return silkConf().put("name", "silk-test").put("cniVersion", version);
    }

    @Test
    void resultsInTheRequestedVersionCheckAndIdempotentDel() {
        for (String version : List.of("0.4.0", "1.0.0", "1.1.0")) {
            String ns = lab.container("v" + version.replace(".", ""));
            String netns = Lab.netnsPath(ns).toString();
            String id = "ctr-version-" + version;
            JsonNode result = runtime.add(net(version, silkConf()), id, netns, "eth0", null);
            assertThat(result.get("cniVersion").asText()).isEqualTo(version);
            JsonNode ip = result.get("ips").get(0);
            assertThat(ip.get("gateway").asText()).isEqualTo("169.254.0.1");
            assertThat(ip.has("version")).isEqualTo(version.equals("0.4.0"));
            assertThat(result.get("interfaces").get(1).get("sandbox").asText()).isEqualTo(netns);
            String addr = ip.get("address").asText().replace("/32", "");
            assertThat(result.get("interfaces").get(1).get("mac").asText()).isEqualTo(mac("ee:ee", addr));

            runtime.check(net(version, silkConf()), id, netns, "eth0", result);
            // Break it: CHECK notices.
            Lab.must(lab.in(ns, "ip", "route", "del", "default"));
            var broken = runtime.exec("CHECK", "silk", id, netns, "eth0", configWithPrev(version, result), null);
            assertThat(broken.exit()).isNotZero();
            assertThat(broken.json().get("msg").asText()).contains("no default route");

            for (int i = 0; i < 2; i++) {
                var del = runtime.exec("DEL", "silk", id, netns, "eth0", config(version), null);
                assertThat(del.exit()).as(del.stdout()).isZero();
            }
            assertThat(lab.in(ns, "ip", "link", "show", "eth0").ok()).isFalse();
            lab.removeNamespace(ns);
            // DEL after the namespace is gone still succeeds.
            assertThat(runtime.exec("DEL", "silk", id, netns, "eth0", config(version), null).exit()).isZero();
        }
    }

    static ObjectNode configWithPrev(String version, JsonNode prev) {
        ObjectNode c = config(version);
        c.set("prevResult", prev);
        return c;
    }

    static String mac(String prefix, String ip) {
        String[] o = ip.split("\\.");
        return String.format("%s:%02x:%02x:%02x:%02x", prefix, Integer.parseInt(o[0]), Integer.parseInt(o[1]),
                Integer.parseInt(o[2]), Integer.parseInt(o[3]));
    }

    @Test
    void versionStatusAndErrorsWithWellKnownCodes() {
        String containersBefore = containers();
        String ns = lab.container("errs");
        String netns = Lab.netnsPath(ns).toString();
        var version = runtime.exec("VERSION", "silk", "x", netns, "eth0", config("1.0.0"), null);
        assertThat(version.exit()).isZero();
        assertThat(version.json().get("supportedVersions").toString()).contains("0.4.0", "1.0.0", "1.1.0");

        assertThat(runtime.exec("STATUS", "silk", "", null, "", config("1.1.0"), null).exit()).isZero();

        var badVersion = runtime.exec("ADD", "silk", "c1", netns, "eth0", config("0.1.0"), null);
        assertThat(badVersion.json().get("code").asInt()).isEqualTo(1);
        var noNetns = runtime.exec("ADD", "silk", "c1", null, "eth0", config("1.0.0"), null);
        assertThat(noNetns.json().get("code").asInt()).isEqualTo(4);
        assertThat(noNetns.json().get("msg").asText()).contains("CNI_NETNS");
        var badMtu = runtime.exec("ADD", "silk", "c1", netns, "eth0", config("1.0.0").put("mtu", "big"), null);
        assertThat(badMtu.json().get("code").asInt()).isEqualTo(7);
        var badJson = runExecRaw("ADD", netns, "{\"daemonSocket\":\"" + silk.socket(CELL) + "\", \"cniVersion\": }");
        assertThat(badJson.json().get("code").asInt()).isEqualTo(6);
        // Nothing was allocated by the failures (whatever other tests left attached).
        assertThat(containers()).isEqualTo(containersBefore);
        lab.removeNamespace(ns);
    }

    static String containers() {
        var m = java.util.regex.Pattern.compile("\"containers\":(\\d+)").matcher(silk.health(cell));
        assertThat(m.find()).as("containers in the daemon's health").isTrue();
        return m.group(1);
    }

    CniRuntime.Run runExecRaw(String command, String netns, String body) {
        return runtime.exec(command, "silk", "c1", netns, "eth0", body.getBytes(java.nio.charset.StandardCharsets.UTF_8), null);
    }

    @Test
    void twentyFourConcurrentAddsGetDistinctAddresses() throws Exception {
        int n = 24;
        List<String> namespaces = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            namespaces.add(lab.container("p" + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Future<JsonNode>> results = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String netns = Lab.netnsPath(namespaces.get(i)).toString();
            String id = "ctr-par-" + i;
            results.add(pool.submit(() -> runtime.add(net("1.0.0", silkConf()), id, netns, "eth0", null)));
        }
        Set<String> ips = new HashSet<>();
        for (Future<JsonNode> f : results) {
            ips.add(f.get().get("ips").get(0).get("address").asText());
        }
        pool.shutdown();
        assertThat(ips).hasSize(n);
        for (int i = 0; i < n; i++) {
            runtime.del(net("1.0.0", silkConf()), "ctr-par-" + i, Lab.netnsPath(namespaces.get(i)).toString(), "eth0", null);
            lab.removeNamespace(namespaces.get(i));
        }
    }

    @Test
    void gcReleasesAttachmentsTheRuntimeNoLongerKnowsAndMtuCanBeSet() throws Exception {
        String keep = lab.container("gckeep");
        String drop = lab.container("gcdrop");
        JsonNode kept = runtime.add(net("1.1.0", silkConf().put("mtu", 1300)), "ctr-keep", Lab.netnsPath(keep).toString(), "eth0", null);
        JsonNode dropped = runtime.add(net("1.1.0", silkConf()), "ctr-drop", Lab.netnsPath(drop).toString(), "eth0", null);
        assertThat(lab.in(keep, "ip", "link", "show", "eth0").output()).contains("mtu 1300");
        assertThat(lab.in(drop, "ip", "link", "show", "eth0").output()).contains("mtu 1450");

        ObjectNode gc = config("1.1.0");
        gc.putArray("cni.dev/valid-attachments").addObject().put("containerID", "ctr-keep").put("ifname", "eth0");
        var r = runtime.exec("GC", "silk", "", null, "", gc, null);
        assertThat(r.exit()).as(r.stdout()).isZero();
        assertThat(lab.in(cell, "ip", "link", "show", dropped.get("interfaces").get(0).get("name").asText()).ok()).isFalse();
        assertThat(lab.in(cell, "ip", "link", "show", kept.get("interfaces").get(0).get("name").asText()).ok()).isTrue();
        // The freed address is handed out again.
        String again = lab.container("gcagain");
        JsonNode reused = runtime.add(net("1.1.0", silkConf()), "ctr-again", Lab.netnsPath(again).toString(), "eth0", null);
        assertThat(reused.get("ips").get(0).get("address").asText()).isEqualTo(dropped.get("ips").get(0).get("address").asText());
        for (String[] c : new String[][] {{"ctr-keep", keep}, {"ctr-again", again}}) {
            runtime.del(net("1.1.0", silkConf()), c[0], Lab.netnsPath(c[1]).toString(), "eth0", null);
            lab.removeNamespace(c[1]);
        }
        lab.removeNamespace(drop);
    }

    @Test
    void chainedWithBandwidthPortmapAndTuning() throws Exception {
        String ns = lab.container("chain");
        String netns = Lab.netnsPath(ns).toString();
        ObjectNode bandwidth = CniRuntime.plugin("bandwidth")
                .put("ingressRate", 800_000).put("ingressBurst", 100_000)
                .put("egressRate", 800_000).put("egressBurst", 100_000);
        ObjectNode portmap = CniRuntime.plugin("portmap");
        portmap.putObject("capabilities").put("portMappings", true);
        ObjectNode tuning = CniRuntime.plugin("tuning");
        tuning.putObject("sysctl").put("net.core.somaxconn", "512");
        var network = net("1.0.0", silkConf(), tuning, bandwidth, portmap);

        JsonNode result = runtime.add(network, "ctr-chain", netns, "eth0", null);
        String hostIf = result.get("interfaces").get(0).get("name").asText();
        assertThat(lab.in(cell, "tc", "qdisc", "show", "dev", hostIf).output()).contains("tbf");
        assertThat(lab.in(ns, "cat", "/proc/sys/net/core/somaxconn").output().trim()).isEqualTo("512");
        runtime.check(network, "ctr-chain", netns, "eth0", result);

        // The shaping is real: 300 kB at 800 kbit/s takes about 3 s; unshaped it takes milliseconds.
        String ip = result.get("ips").get(0).get("address").asText().replace("/32", "");
        Process sink = lab.spawn(cell, "sink", List.of("sh", "-c", "nc -lvn -p 9000 -s 169.254.0.1 > /dev/null"));
        lab.awaitLog("sink", "Listening on");
        long t0 = System.nanoTime();
        var send = lab.in(ns, "sh", "-c", "head -c 300000 /dev/zero | nc -N -w10 169.254.0.1 9000");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(send.ok()).as(send.output()).isTrue();
        assertThat(millis).as("ms to send 300 kB through the shaped interface").isGreaterThan(1500);
        lab.stop(sink, true);

        for (var r : runtime.del(network, "ctr-chain", netns, "eth0", result)) {
            assertThat(r.exit()).as(r.stdout()).isZero();
        }
        assertThat(lab.in(cell, "ip", "link", "show", hostIf).ok()).isFalse();
        lab.removeNamespace(ns);
    }

    @Test
    void withoutALeaseAddIsRetryableAndStatusSaysUnavailable() throws Exception {
        String lonely = lab.host("lonely", "10.77.0.9");
        Process d = silk.daemon(lonely, "10.77.0.9", "controller.addresses=10.77.0.250:7443", "controller.call-timeout=300ms");
        try {
            Lab.await("lonely daemon socket", Duration.ofSeconds(30), () -> java.nio.file.Files.exists(silk.socket("10.77.0.9")));
            String ns = lab.container("nolease");
            var r = new CniRuntime(silk.cniBin(), lonely).exec("ADD", "silk", "c-nolease", Lab.netnsPath(ns).toString(), "eth0",
                    CniRuntime.plugin("silk").put("daemonSocket", silk.socket("10.77.0.9").toString())
                            .put("name", "silk-test").put("cniVersion", "1.0.0"), null);
            assertThat(r.exit()).isNotZero();
            assertThat(r.json().get("code").asInt()).isEqualTo(11);
            assertThat(r.json().get("msg").asText()).contains("no overlay lease");
            var status = new CniRuntime(silk.cniBin(), lonely).exec("STATUS", "silk", "", null, "",
                    CniRuntime.plugin("silk").put("daemonSocket", silk.socket("10.77.0.9").toString())
                            .put("name", "silk-test").put("cniVersion", "1.1.0"), null);
            assertThat(status.json().get("code").asInt()).isEqualTo(50);
            assertThat(lab.in(lonely, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:9465/health").output())
                    .isEqualTo("503");
        } finally {
            lab.stop(d, false);
        }
    }
}
