package io.silk.load;

import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.scenario;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.silk.load.cell.SimulatedCell;
import io.silk.load.cell.WatchDigest;
import io.silk.load.grpc.Grpc;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fleet steady state and restart storm: thousands of simulated cells, each with its own TLS
 * connection, a lease and a lease watch, renewing every interval with jitter. Once all are
 * connected the controller's and its database's CPU is measured over a window, with heap and RSS
 * per connected cell; then every cell restarts at once (new connection, renew, watch from 0 with
 * a full snapshot) and all must be served within the storm limit, without errors.
 */
public class FleetSimulation extends Simulation {

    record Profile(int cells, Duration ramp, Duration interval, Duration steady, Duration settle, Duration window,
            double maxCores, Duration stormLimit) {
        static Profile current() {
            return switch (System.getProperty("silk.load.profile", "smoke")) {
                // The ramp grows with the fleet (at least 30 s, 6 ms per cell): every connection is an mTLS
                // handshake on both ends, and this machine's two cores also run the load generator.
                case "full" -> new Profile(configuredCells(), Duration.ofSeconds(Long.getLong("silk.load.ramp-seconds",
                        Math.max(30, configuredCells() * 6L / 1000))),
                        Duration.ofSeconds(30), Duration.ofSeconds(Long.getLong("silk.load.seconds", 170)),
                        Duration.ofSeconds(20), Duration.ofSeconds(90),
                        Double.parseDouble(System.getProperty("silk.load.max-cores", "0.2")), Duration.ofSeconds(30));
                default -> new Profile(40, Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(8),
                        Duration.ofSeconds(1), Duration.ofSeconds(3), Double.MAX_VALUE, Duration.ofSeconds(30));
            };
        }
    }

    static int configuredCells() {
        return Integer.getInteger("silk.load.cells", 5000);
    }

    static final Profile PROFILE = Profile.current();
    static final String CELL_PREFIX = "10.200.";
    /** One timing: from the first cell dropping its connection to the last cell holding a full snapshot again. */
    static final String STORM = "restart storm: every cell served";

    final ControllerUnderTest controller;
    final AtomicInteger connected = new AtomicInteger();
    final java.util.concurrent.atomic.AtomicLong stormStart = new java.util.concurrent.atomic.AtomicLong();
    final AtomicInteger resynced = new AtomicInteger();
    volatile String steadyState;
    volatile double steadyCores = Double.NaN;
    volatile Throwable monitorFailure;

    public FleetSimulation() throws Exception {
        controller = ControllerUnderTest.startOrConnect("10.0.0.0/8");
        var connections = controller.cellConnections();
        long interval = PROFILE.interval().toMillis();
        ScenarioBuilder fleet = scenario("fleet")
                .exec(s -> s.set("cell", new SimulatedCell(cellIp(s.userId()), connections)))
                .exec(Grpc.call("acquire", s -> SimulatedCell.of(s).acquire()))
                .exec(Grpc.call("watch: initial sync", (s, timings) -> SimulatedCell.of(s).watch(0, timings, (d, at) -> { })
                        .thenRun(connected::incrementAndGet)))
                // Real cells started at different times: spread the renews over the interval.
                .pause(Duration.ZERO, PROFILE.interval())
                .during(PROFILE.steady()).on(
                        exec(Grpc.call("renew", s -> SimulatedCell.of(s).renew()))
                                .pause(Duration.ofMillis(interval * 9 / 10), Duration.ofMillis(interval * 11 / 10)))
                .rendezVous(PROFILE.cells())
                .exec(s -> {
                    stormStart.compareAndSet(0, System.currentTimeMillis());
                    SimulatedCell.of(s).disconnect();
                    return s;
                })
                .exec(Grpc.call("restart: renew", s -> SimulatedCell.of(s).renew()))
                .exec(Grpc.call("restart: resync", (s, timings) -> SimulatedCell.of(s).watch(0, timings, (d, at) -> { })
                        .thenCompose(FleetSimulation::fullSnapshot)
                        .thenRun(() -> {
                            if (resynced.incrementAndGet() == PROFILE.cells()) {
                                timings.record(STORM, stormStart.get(), System.currentTimeMillis(), null);
                            }
                        })))
                .pause(PROFILE.settle())
                .exec(s -> {
                    SimulatedCell.of(s).disconnect();
                    return s;
                });

        setUp(fleet.injectOpen(rampUsers(PROFILE.cells()).during(PROFILE.ramp())))
                .assertions(global().failedRequests().count().is(0L),
                        details(STORM).allRequests().count().is(1L),
                        details(STORM).responseTime().max().lt((int) PROFILE.stormLimit().toMillis()));
    }

    /** A restarted cell's resync is served when it holds every cell's lease again. */
    static CompletableFuture<WatchDigest> fullSnapshot(WatchDigest d) {
        if (!d.reset() || d.leases() < PROFILE.cells()) {
            return CompletableFuture.failedFuture(new IllegalStateException("resync after restart: expected a snapshot of "
                    + PROFILE.cells() + " leases, got reset=" + d.reset() + " with " + d.leases()));
        }
        return CompletableFuture.completedFuture(d);
    }


    static String cellIp(long userId) {
        return CELL_PREFIX + ((userId >> 8) & 0xff) + "." + (userId & 0xff);
    }

    @Override
    public void before() {
        Thread.ofPlatform().daemon().name("fleet-monitor").start(this::measureSteadyState);
    }

    /** Waits for every cell to connect, lets the fleet settle, then measures a window of steady state. */
    private void measureSteadyState() {
        try {
            var tree = controller.process();
            var database = controller.database();
            long heapBefore = tree.isPresent() ? controller.heapAfterGc() : 0;
            long rssBefore = tree.map(ProcessTree::rssBytes).orElse(0L);
            int connectionsBefore = controller.databaseConnections();
            while (connected.get() < PROFILE.cells()) {
                Thread.sleep(200);
            }
            Thread.sleep(PROFILE.settle().toMillis());
            if (tree.isEmpty() || database.isEmpty()) {
                steadyState = "external controller: CPU, heap and RSS not measured";
                return;
            }
            // Every replica's CPU (the load is spread over all of them), and the database's.
            var replicas = controller.replicas();
            double controller0 = replicas.stream().mapToDouble(ProcessTree::cpuSeconds).sum();
            double database0 = database.get().cpuSeconds();
            long t0 = System.nanoTime();
            Thread.sleep(PROFILE.window().toMillis());
            double controller1 = replicas.stream().mapToDouble(ProcessTree::cpuSeconds).sum();
            double database1 = database.get().cpuSeconds();
            double wall = (System.nanoTime() - t0) / 1e9;
            double controllerCores = (controller1 - controller0) / wall;
            double databaseCores = (database1 - database0) / wall;
            long rss = tree.get().rssBytes();
            long heap = controller.heapAfterGc();
            int cells = PROFILE.cells();
            steadyCores = controllerCores + databaseCores;
            steadyState = String.format(Locale.ROOT,
                    "%d cells connected to %d replica(s), renew every %d s: over %.0f s controllers %.3f cores + database %.3f cores"
                            + " = %.3f cores; database connections %d (%d before any cell);"
                            + " first replica's heap after GC %d MiB (%d MiB with no cells, %.1f KiB per cell),"
                            + " RSS %d MiB (%d MiB with no cells, %.1f KiB per cell)",
                    cells, replicas.size(), PROFILE.interval().toSeconds(), wall, controllerCores, databaseCores, steadyCores,
                    controller.databaseConnections(), connectionsBefore,
                    heap >> 20, heapBefore >> 20, (heap - heapBefore) * replicas.size() / 1024.0 / cells,
                    rss >> 20, rssBefore >> 20, (rss - rssBefore) * replicas.size() / 1024.0 / cells);
            System.out.println("silk: steady state: " + steadyState);
        } catch (Throwable t) {
            monitorFailure = t;
        }
    }

    @Override
    public void after() {
        try {
            if (monitorFailure != null) {
                throw new AssertionError("steady-state measurement failed: " + monitorFailure, monitorFailure);
            }
            if (steadyState == null) {
                throw new AssertionError("the steady state was not measured: not all " + PROFILE.cells()
                        + " cells connected (" + connected.get() + ") or the run ended before the window did");
            }
            if (steadyCores > PROFILE.maxCores()) {
                throw new AssertionError(String.format(Locale.ROOT, "steady state: controller + database used %.3f cores,"
                        + " more than the target %.2f", steadyCores, PROFILE.maxCores()));
            }
            if (controller.databaseUrl != null) {
                LeaseTable.read(controller.databaseUrl, CELL_PREFIX).require(PROFILE.cells(), "leases of the simulated cells");
            }
        } finally {
            try {
                controller.close();
            } catch (Exception ignored) {
                // going anyway
            }
        }
    }
}
