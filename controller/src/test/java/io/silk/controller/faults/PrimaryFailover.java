package io.silk.controller.faults;

import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.testing.PatroniCluster;
import io.silk.testing.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lease churn through two controller replicas on a Patroni cluster while its primary fails: the
 * shared machinery of {@code PrimaryFailoverTest} (small, in the suite) and
 * {@code PrimaryFailoverBenchmark} (full, with figures). Every acquire and release a replica
 * acknowledged is recorded with its time, so that what the database holds afterwards can be
 * checked against it.
 */
final class PrimaryFailover implements AutoCloseable {

    /** What one fault cost, as seen by the churning clients. */
    record Outage(Duration writesRefused, Duration untilAcquiresSucceed, int refusedCalls) {
        @Override
        public String toString() {
            return "no write succeeded for " + untilAcquiresSucceed.toMillis() + " ms; " + refusedCalls + " calls refused over "
                    + writesRefused.toMillis() + " ms";
        }
    }

    /** What the database and the watchers hold afterwards, against what was acknowledged. */
    record Audit(int acknowledgedHeld, List<String> missing, List<String> wrongSubnet, List<String> overlapping,
            Map<String, Integer> watchersDisagreeing, boolean revisionsMonotonic, int snapshotsAfterStart) {}

    private final PatroniCluster cluster;
    private final List<ControllerReplica> replicas = new ArrayList<>();
    private final List<LeaseServiceBlockingStub> stubs = new ArrayList<>();
    private final List<WatchClient> watchers = new ArrayList<>();
    /** Cell → subnet, for every lease a replica acknowledged and no release has been acknowledged since. */
    private final Map<String, String> held = new ConcurrentHashMap<>();
    private final Queue<Long> successTimes = new ConcurrentLinkedQueue<>();
    private final Queue<Long> refusalTimes = new ConcurrentLinkedQueue<>();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final AtomicBoolean running = new AtomicBoolean();
    private final List<Thread> workers = new ArrayList<>();

    PrimaryFailover(PatroniCluster cluster, int replicaCount) {
        this.cluster = cluster;
        var db = new TestPostgres.Database(cluster.jdbcUrl(), cluster.user(), cluster.password());
        for (int i = 0; i < replicaCount; i++) {
            // The shipped pool settings (application.yml), as an operator runs them.
            ControllerReplica r = ControllerReplica.start(db);
            replicas.add(r);
            stubs.add(LeaseServiceGrpc.newBlockingStub(r.channel(TestPki.operator())));
            WatchClient w = new WatchClient();
            var channel = r.channel(TestPki.operator());
            w.watch(channel);
            watchers.add(w);
            // As a daemon does: a stream that ends is resumed from the revision reached.
            Thread.ofVirtual().name("watch-keeper-" + i).start(() -> {
                while (!closed.get()) {
                    if (w.ended() != null) {
                        w.watch(channel);
                    }
                    sleep(200);
                }
            });
        }
    }

    private final AtomicBoolean closed = new AtomicBoolean();

    List<ControllerReplica> replicas() {
        return replicas;
    }

    int succeeded() {
        return succeeded.get();
    }

    /**
     * {@code workers} clients, each on its own cells, alternating between the replicas: acquire a
     * lease for a new cell, and release one of its older cells half the time, so the table churns.
     */
    void startChurn(int workerCount) {
        running.set(true);
        for (int w = 0; w < workerCount; w++) {
            int worker = w;
            workers.add(Thread.ofVirtual().name("churn-" + w).start(() -> churn(worker)));
        }
    }

    private void churn(int worker) {
        List<String> mine = new ArrayList<>();
        int next = 0;
        while (running.get()) {
            LeaseServiceBlockingStub stub = stubs.get((worker + next) % stubs.size()).withDeadlineAfter(5, TimeUnit.SECONDS);
            try {
                if (mine.size() > 8 && next % 2 == 0) {
                    String cell = mine.getFirst();
                    stub.release(ReleaseRequest.newBuilder().setUnderlayIp(cell).build());
                    held.remove(cell);
                    mine.removeFirst();
                } else {
                    String cell = "10." + (100 + worker) + "." + (next / 250) + "." + (next % 250 + 1);
                    Lease l = stub.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease();
                    held.put(cell, l.getOverlaySubnet());
                    mine.add(cell);
                }
                next++;
                succeeded.incrementAndGet();
                successTimes.add(System.nanoTime());
            } catch (StatusRuntimeException e) {
                // A release refused or cut off may or may not have happened: retried until acknowledged.
                refusalTimes.add(System.nanoTime());
                sleep(50);
            }
        }
    }

    /**
     * Runs the fault and waits until writes succeed steadily again (twenty acknowledged after it).
     * {@code untilAcquiresSucceed}: the longest stretch from the fault's start in which no write
     * succeeded on any client — from the last success before the kill to the first after it, the
     * time no cell could have been served whatever its retry timing; a write acknowledged just as
     * the kill landed does not end the stretch early, the gap after it counts too. {@code
     * writesRefused}: from the first to the last refused call after the fault's start.
     */
    Outage fault(Runnable fault, Duration give) {
        long start = System.nanoTime();
        fault.run();
        long faulted = System.nanoTime();
        long deadline = faulted + give.toNanos();
        while (successTimes.stream().filter(t -> t > faulted).count() < 20) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("writes did not resume within " + give + " of the fault; cluster: " + cluster.members());
            }
            sleep(5);
        }
        List<Long> successes = successTimes.stream().sorted().toList();
        long longestGap = 0;
        for (int i = 1; i < successes.size(); i++) {
            if (successes.get(i) > start) {
                longestGap = Math.max(longestGap, successes.get(i) - successes.get(i - 1));
            }
        }
        List<Long> refusedAfter = refusalTimes.stream().filter(t -> t > start).sorted().toList();
        Duration refusedFor = refusedAfter.isEmpty() ? Duration.ZERO
                : Duration.ofNanos(refusedAfter.getLast() - refusedAfter.getFirst());
        return new Outage(refusedFor, Duration.ofNanos(longestGap), refusedAfter.size());
    }

    void stopChurn() throws InterruptedException {
        running.set(false);
        for (Thread t : workers) {
            t.join();
        }
        workers.clear();
    }

    /**
     * After the churn: every lease acknowledged and not released is in the table with its subnet
     * (through a replica's List, which reads the database), no two leases overlap, and every
     * watcher holds exactly the table, having seen revisions only go up.
     */
    Audit audit(Duration watchersWithin) throws InterruptedException {
        Map<String, String> table = new HashMap<>();
        long revision = 0;
        for (int attempt = 0; ; attempt++) {
            try {
                var list = stubs.getFirst().withDeadlineAfter(10, TimeUnit.SECONDS).list(ListRequest.getDefaultInstance());
                list.getLeasesList().forEach(l -> table.put(l.getUnderlayIp(), l.getOverlaySubnet()));
                revision = list.getRevision();
                break;
            } catch (StatusRuntimeException e) {
                if (attempt > 50) {
                    throw e;
                }
                sleep(200);
            }
        }
        List<String> missing = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        held.forEach((cell, subnet) -> {
            String has = table.get(cell);
            if (has == null) {
                missing.add(cell + "=" + subnet);
            } else if (!has.equals(subnet)) {
                wrong.add(cell + ": acknowledged " + subnet + ", table " + has);
            }
        });
        Map<String, String> bySubnet = new HashMap<>();
        List<String> overlapping = new ArrayList<>();
        table.forEach((cell, subnet) -> {
            String other = bySubnet.put(subnet, cell);
            if (other != null) {
                overlapping.add(subnet + ": " + cell + " and " + other);
            }
        });
        Map<String, Integer> disagreeing = new HashMap<>();
        boolean monotonic = true;
        int snapshots = 0;
        for (int i = 0; i < watchers.size(); i++) {
            WatchClient w = watchers.get(i);
            long target = revision;
            try {
                w.awaitRoutable(m -> m.size() == table.size(), watchersWithin);
            } catch (AssertionError ignored) {
                // Counted below as a disagreement.
            }
            Map<String, Lease> seen = w.routable();
            int differ = 0;
            for (var e : table.entrySet()) {
                Lease l = seen.get(e.getKey());
                if (l == null || !l.getOverlaySubnet().equals(e.getValue())) {
                    differ++;
                }
            }
            differ += (int) seen.keySet().stream().filter(c -> !table.containsKey(c)).count();
            if (differ > 0) {
                disagreeing.put("watcher " + i + " (revision " + w.revision() + ", table at " + target + ")", differ);
            }
            long last = 0;
            for (var e : w.applied()) {
                if (e.getRevision() <= last) {
                    monotonic = false;
                }
                last = e.getRevision();
            }
            snapshots += (int) w.responses().stream().skip(1).filter(r -> r.getReset()).count();
        }
        return new Audit(held.size(), missing, wrong, overlapping, disagreeing, monotonic, snapshots);
    }

    @Override
    public void close() {
        running.set(false);
        closed.set(true);
        for (WatchClient w : watchers) {
            w.cancel();
        }
        for (ControllerReplica r : replicas) {
            r.close();
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
