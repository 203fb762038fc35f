package io.silk.daemon.policy;

import static io.silk.daemon.policy.KernelCell.C2_IP;

import io.silk.daemon.policy.nftables.NftablesBackend;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.netlink.Netlink;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.PolicyChange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Policy enforcement on one cell, nftables and iptables side by side in one run, in namespaces made
 * for the run: applying 1,000 / 10,000 / 100,000 policies, one policy created or deleted among the
 * largest set, and the cost per packet — new TCP connections per second and iperf3 throughput
 * between two containers with 10 and with 100,000 policies on the cell — and the heap the nftables
 * model takes for 100,000. Run with {@code ./dev bench-policy}; figures go to
 * {@code target/policy-rules-benchmark.txt} and docs/benchmarks.md.
 */
@Tag("benchmark")
class RuleApplyBenchmark {

    static final int RUNS = Integer.getInteger("silk.bench.runs", 5);
    static final int LARGEST = Integer.getInteger("silk.bench.largest", 100_000);
    static final int IPTABLES_LARGEST = Integer.getInteger("silk.bench.iptables-largest", 100_000);
    static final int CONNECT_PORT = 7000;
    static final int IPERF_PORT = 5201;
    static final int PACKET_ROUNDS = Integer.getInteger("silk.bench.packet-rounds", 3);

    /**
     * {@code n} policies towards app-b (c2, 10.255.1.3), each from its own source tag and port, then
     * the two that let app-a (c1) reach the benchmark's servers: last, where rules matched one by
     * one find them last.
     */
    static List<C2CPolicy> policies(int n, int variant) {
        List<C2CPolicy> out = new ArrayList<>(n + 2);
        for (int r = 0; r < n; r++) {
            int port = 10000 + (r + variant) % 50000;
            out.add(C2CPolicy.newBuilder().setId(100 + r).setSourceId("src-" + r).setSourceTag(100 + r % 60000)
                    .setDestinationId("app-b").setDestinationTag(2).setProtocol(r % 2 == 0 ? "tcp" : "udp")
                    .setStartPort(port).setEndPort(port).build());
        }
        out.add(KernelCell.c2c(1, "tcp", CONNECT_PORT, CONNECT_PORT));
        out.add(KernelCell.c2c(2, "tcp", IPERF_PORT, IPERF_PORT));
        return out;
    }

    static PolicyRules.Inputs inputs(List<C2CPolicy> policies) {
        return KernelCell.inputs(policies, List.of(), false);
    }

    static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    static double max(long[] nanos) {
        return Arrays.stream(nanos).max().orElse(0) / 1e6;
    }

    record Backend(String name, Function<KernelCell, PolicyBackend> make) {}

    @Test
    void applyTimesAndPacketCost() throws Exception {
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "%-44s %12s %12s%n", "", "nftables", "iptables"));
        List<Backend> backends = List.of(new Backend("nftables", k -> k.nftables(Ruleset.Logging.OFF)),
                new Backend("iptables", k -> new IptablesBackend(k.iptables())));
        double[][] apply = new double[3][2];
        double[] changeCreate = new double[2];
        double[] changeDelete = new double[2];
        double[][] connections = new double[2][2];
        double[][] throughput = new double[2][2];
        int[] sizes = {1_000, 10_000, LARGEST};
        for (int b = 0; b < backends.size(); b++) {
            Backend backend = backends.get(b);
            int largest = backend.name().equals("iptables") ? Math.min(LARGEST, IPTABLES_LARGEST) : LARGEST;
            try (KernelCell k = new KernelCell()) {
                for (int s = 0; s < sizes.length; s++) {
                    if (sizes[s] > largest) {
                        apply[s][b] = Double.NaN;
                        continue;
                    }
                    List<C2CPolicy> set = policies(sizes[s], 0);
                    long[] t = new long[sizes[s] >= 100_000 && backend.name().equals("iptables") ? 1 : RUNS];
                    for (int i = 0; i < t.length; i++) {
                        PolicyBackend p = backend.make().apply(k); // a new process: writes everything
                        p.prepare();
                        p.apply(inputs(policies(10, 0)));
                        PolicyBackend fresh = backend.make().apply(k);
                        fresh.prepare();
                        long t0 = System.nanoTime();
                        fresh.apply(inputs(set));
                        t[i] = System.nanoTime() - t0;
                    }
                    apply[s][b] = median(t);
                    System.out.printf(Locale.ROOT, "%s apply %d: %.1f ms%n", backend.name(), sizes[s], apply[s][b]);
                }

                // One change among the largest set, as the watcher hands it over.
                List<C2CPolicy> base = policies(largest, 0);
                PolicyBackend p = backend.make().apply(k);
                p.prepare();
                p.apply(inputs(base));
                int changes = backend.name().equals("iptables") && largest >= 100_000 ? 3 : 50;
                long[] create = new long[changes];
                long[] delete = new long[changes];
                List<C2CPolicy> now = new ArrayList<>(base);
                for (int i = 0; i < changes; i++) {
                    C2CPolicy extra = C2CPolicy.newBuilder().setId(10_000_000 + i).setSourceId("new-" + i).setSourceTag(61000 + i)
                            .setDestinationId("app-b").setDestinationTag(2).setProtocol("tcp").setStartPort(61000).setEndPort(61000).build();
                    now.add(extra);
                    List<C2CPolicy> after = List.copyOf(now);
                    long t0 = System.nanoTime();
                    p.change(List.of(PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setC2C(extra).build()),
                            () -> inputs(after));
                    create[i] = System.nanoTime() - t0;
                    now.remove(now.size() - 1);
                    List<C2CPolicy> before = List.copyOf(now);
                    t0 = System.nanoTime();
                    p.change(List.of(PolicyChange.newBuilder().setKind(PolicyChange.Kind.DELETED).setC2C(extra).build()),
                            () -> inputs(before));
                    delete[i] = System.nanoTime() - t0;
                }
                changeCreate[b] = median(create);
                changeDelete[b] = median(delete);
                System.out.printf(Locale.ROOT, "%s change among %d: create %.2f ms (max %.2f), delete %.2f ms (max %.2f)%n",
                        backend.name(), largest, changeCreate[b], max(create), changeDelete[b], max(delete));

                // Cost per packet: 10 policies and the largest set, alternating, medians of the rounds.
                connectionsPerSecond(k); // warms the client and server code up
                long[][] conns = new long[2][PACKET_ROUNDS];
                long[][] gbits = new long[2][PACKET_ROUNDS];
                for (int round = 0; round < PACKET_ROUNDS; round++) {
                    for (int s = 0; s < 2; s++) {
                        PolicyBackend q = backend.make().apply(k);
                        q.prepare();
                        q.apply(inputs(s == 0 ? policies(10, 0) : base));
                        conns[s][round] = Math.round(connectionsPerSecond(k) * 1e6);
                        gbits[s][round] = Math.round(iperfGbits(k) * 1e6);
                        System.out.printf(Locale.ROOT, "%s with %s policies: %.0f connections/s, %.2f Gbit/s%n", backend.name(),
                                s == 0 ? "10" : String.valueOf(largest), conns[s][round] / 1e6, gbits[s][round] / 1e6);
                    }
                }
                for (int s = 0; s < 2; s++) {
                    connections[s][b] = median(conns[s]); // the ×1e6 above and ÷1e6 in median cancel
                    throughput[s][b] = median(gbits[s]);
                }
            }
        }
        for (int s = 0; s < sizes.length; s++) {
            row(report, "apply " + sizes[s] + " policies (ms)", apply[s]);
        }
        row(report, "create 1 among " + LARGEST + " (ms, median)", changeCreate);
        row(report, "delete 1 among " + LARGEST + " (ms, median)", changeDelete);
        row(report, "new TCP connections/s, 10 policies", connections[0]);
        row(report, "new TCP connections/s, " + LARGEST + " policies", connections[1]);
        row(report, "  ratio largest / 10", new double[] {connections[1][0] / connections[0][0], connections[1][1] / connections[0][1]});
        row(report, "iperf3 Gbit/s, 10 policies", throughput[0]);
        row(report, "iperf3 Gbit/s, " + LARGEST + " policies", throughput[1]);
        row(report, "  ratio largest / 10", new double[] {throughput[1][0] / throughput[0][0], throughput[1][1] / throughput[0][1]});
        report.append(String.format(Locale.ROOT, "nftables model heap for %d policies: %.1f MiB%n", LARGEST, modelHeapMiB()));
        System.out.println("\n=== policy enforcement benchmark (" + RUNS + " runs per apply figure) ===\n" + report);
        Files.writeString(Path.of("target", "policy-rules-benchmark.txt"), report.toString());
    }

    static void row(StringBuilder b, String what, double[] v) {
        b.append(String.format(Locale.ROOT, "%-44s %12.2f %12.2f%n", what, v[0], v[1]));
    }

    /** New TCP connections per second from c1 to c2 (connect, one byte each way, close) for 3 s, one client. */
    static double connectionsPerSecond(KernelCell k) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<ServerSocket> bound = new CompletableFuture<>();
        Thread server = Thread.ofPlatform().daemon().start(() -> {
            Netlink.enter(k.netns(k.c2));
            try (ServerSocket ss = new ServerSocket()) {
                ss.bind(new InetSocketAddress(C2_IP, CONNECT_PORT), 512);
                bound.complete(ss);
                while (!stop.get()) {
                    try (Socket s = ss.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                        in.read();
                        out.write(1);
                    } catch (IOException e) {
                        if (stop.get()) {
                            return;
                        }
                    }
                }
            } catch (IOException e) {
                bound.completeExceptionally(e);
            }
        });
        ServerSocket ss = bound.get();
        CompletableFuture<Double> rate = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            Netlink.enter(k.netns(k.c1));
            try {
                long warm = System.nanoTime() + 500_000_000L;
                while (System.nanoTime() < warm) {
                    once();
                }
                long n = 0;
                long t0 = System.nanoTime();
                long end = t0 + 3_000_000_000L;
                while (System.nanoTime() < end) {
                    once();
                    n++;
                }
                rate.complete(n / ((System.nanoTime() - t0) / 1e9));
            } catch (IOException e) {
                rate.completeExceptionally(e);
            }
        });
        try {
            return rate.get();
        } finally {
            stop.set(true);
            ss.close();
            server.join(2000);
        }
    }

    private static void once() throws IOException {
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0); // no TIME_WAIT pile-up over thousands of connections
            s.connect(new InetSocketAddress(C2_IP, CONNECT_PORT), 1000);
            s.getOutputStream().write(1);
            if (s.getInputStream().read() != 1) {
                throw new IOException("no answer");
            }
        }
    }

    /** iperf3 from c1 to c2 for 3 s, one stream; the receiver's figure. */
    static double iperfGbits(KernelCell k) throws Exception {
        Process server = k.start("ip", "netns", "exec", k.c2, "iperf3", "-s", "-1", "-B", C2_IP, "-p", String.valueOf(IPERF_PORT));
        Thread.sleep(300);
        String json = KernelCell.sh("ip", "netns", "exec", k.c1, "iperf3", "-c", C2_IP, "-p", String.valueOf(IPERF_PORT),
                "-t", "3", "-J");
        server.waitFor();
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        return tree.path("end").path("sum_received").path("bits_per_second").asDouble() / 1e9;
    }

    /** Heap held by an nftables backend's model with the largest set (against a kernel-less recorder). */
    static double modelHeapMiB() {
        var memory = ManagementFactory.getMemoryMXBean();
        List<C2CPolicy> set = policies(LARGEST, 0);
        System.gc();
        long before = memory.getHeapMemoryUsage().getUsed();
        NftablesBackend backend = new NftablesBackend(new io.silk.daemon.policy.nftables.Nftables() {
            @Override
            public void run(String script) {}

            @Override
            public void elements(io.silk.daemon.policy.nftables.Transaction tx) {}

            @Override
            public String json(String command) {
                return "{}";
            }

            @Override
            public void close() {}
        }, null, Ruleset.Logging.OFF);
        backend.prepare();
        backend.apply(inputs(set));
        System.gc();
        long after = memory.getHeapMemoryUsage().getUsed();
        if (backend.elementCounts().isEmpty()) {
            throw new AssertionError();
        }
        return (after - before) / (1024.0 * 1024.0);
    }
}
