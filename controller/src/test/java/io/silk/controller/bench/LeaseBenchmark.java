package io.silk.controller.bench;

import io.grpc.ManagedChannel;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.TestPostgres;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.RenewRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Acquire, renew and list latency and throughput with 100, 1,000 and 5,000 leases held, at
 * several concurrencies, against one controller (real gRPC over mTLS) and PostgreSQL on this
 * machine. Run with {@code ./dev bench}; figures go to stdout and controller/target/lease-benchmark.txt.
 * An "acquire" operation is an acquire of a new cell followed by its release, so the number of
 * leases held stays put; both latencies are reported.
 */
@Tag("benchmark")
class LeaseBenchmark {

    static final int[] HELD = intList(System.getProperty("silk.bench.held", "100,1000,5000"));
    static final int[] CONCURRENCY = intList(System.getProperty("silk.bench.concurrency", "1,8,32"));
    static final long SECONDS = Long.getLong("silk.bench.seconds", 3);

    static int[] intList(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    /** Cell addresses: a block per purpose, so held cells and churn cells never collide. */
    static String cell(int block, int n) {
        return (20 + block) + "." + ((n >> 16) & 0xff) + "." + ((n >> 8) & 0xff) + "." + (n & 0xff);
    }

    interface Op {
        /** Runs one operation; returns the latencies (ns) to record under the given labels. */
        void run(int worker, int iteration, Recorder r);
    }

    static final class Recorder {
        final List<long[]> samples = new ArrayList<>();
        long[] buffer = new long[1 << 16];
        int size;

        void add(long nanos) {
            if (size == buffer.length) {
                buffer = Arrays.copyOf(buffer, size * 2);
            }
            buffer[size++] = nanos;
        }
    }

    record Result(String op, int held, int concurrency, double opsPerSecond, double p50ms, double p99ms, int n) {}

    @Test
    void leaseOperations() throws Exception {
        List<Result> results = new ArrayList<>();
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase(),
                "silk.controller.lease.network=10.0.0.0/8", "logging.level.io.silk=WARN")) {
            List<LeaseServiceBlockingStub> stubs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                ManagedChannel ch = replica.channel(TestPki.operator());
                stubs.add(LeaseServiceGrpc.newBlockingStub(ch));
            }
            ExecutorService pool = Executors.newFixedThreadPool(Arrays.stream(CONCURRENCY).max().orElse(1));
            List<Lease> held = new ArrayList<>();
            AtomicInteger churn = new AtomicInteger();
            for (int target : HELD) {
                // Top up the leases held to the target.
                List<Future<Lease>> adds = new ArrayList<>();
                for (int i = held.size(); i < target; i++) {
                    String c = cell(0, i);
                    LeaseServiceBlockingStub s = stubs.get(i % stubs.size());
                    adds.add(pool.submit(() -> s.acquire(AcquireRequest.newBuilder().setUnderlayIp(c).build()).getLease()));
                }
                for (Future<Lease> f : adds) {
                    held.add(f.get());
                }
                for (int c : CONCURRENCY) {
                    Op acquireRelease = (w, i, r) -> {
                        var s = stubs.get(w % stubs.size());
                        String cell = cell(1, churn.incrementAndGet());
                        long t0 = System.nanoTime();
                        s.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
                        long t1 = System.nanoTime();
                        s.release(ReleaseRequest.newBuilder().setUnderlayIp(cell).build());
                        r.add(t1 - t0);
                    };
                    Op renew = (w, i, r) -> {
                        var s = stubs.get(w % stubs.size());
                        Lease l = held.get((w * 7919 + i) % held.size());
                        long t0 = System.nanoTime();
                        s.renew(RenewRequest.newBuilder().setLease(l).build());
                        r.add(System.nanoTime() - t0);
                    };
                    Op list = (w, i, r) -> {
                        var s = stubs.get(w % stubs.size());
                        long t0 = System.nanoTime();
                        s.list(ListRequest.getDefaultInstance());
                        r.add(System.nanoTime() - t0);
                    };
                    results.add(measure("acquire (+release)", target, c, acquireRelease, pool));
                    results.add(measure("renew", target, c, renew, pool));
                    results.add(measure("list", target, c, list, pool));
                }
            }
            pool.shutdownNow();
        }
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "%-20s %6s %5s %10s %9s %9s %8s%n",
                "operation", "held", "conc", "ops/s", "p50 ms", "p99 ms", "samples"));
        for (Result r : results) {
            table.append(String.format(Locale.ROOT, "%-20s %6d %5d %10.0f %9.2f %9.2f %8d%n",
                    r.op(), r.held(), r.concurrency(), r.opsPerSecond(), r.p50ms(), r.p99ms(), r.n()));
        }
        System.out.println("\n=== lease benchmark (" + SECONDS + " s per row, " + Runtime.getRuntime().availableProcessors()
                + " cores) ===\n" + table);
        write(Path.of("target", "lease-benchmark.txt"), table.toString());
    }

    static Result measure(String name, int held, int concurrency, Op op, ExecutorService pool) throws Exception {
        run(op, concurrency, 1, pool); // warm-up
        long t0 = System.nanoTime();
        List<Recorder> recorders = run(op, concurrency, SECONDS, pool);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        int n = recorders.stream().mapToInt(r -> r.size).sum();
        long[] all = new long[n];
        int k = 0;
        for (Recorder r : recorders) {
            System.arraycopy(r.buffer, 0, all, k, r.size);
            k += r.size;
        }
        Arrays.sort(all);
        return new Result(name, held, concurrency, n / elapsed, all[n / 2] / 1e6, all[(int) (n * 0.99)] / 1e6, n);
    }

    static List<Recorder> run(Op op, int concurrency, long seconds, ExecutorService pool) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<Future<Recorder>> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            int worker = w;
            workers.add(pool.submit(() -> {
                Recorder r = new Recorder();
                for (int i = 0; System.nanoTime() < deadline; i++) {
                    op.run(worker, i, r);
                }
                return r;
            }));
        }
        List<Recorder> out = new ArrayList<>();
        for (Future<Recorder> f : workers) {
            out.add(f.get());
        }
        return out;
    }

    static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
