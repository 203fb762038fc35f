package io.silk.load;

import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.pause;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.scenario;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.silk.load.cell.SimulatedCell;
import io.silk.load.cell.WatchDigest;
import io.silk.load.grpc.Grpc;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lease propagation: N simulated cells hold lease watches (each on its own TLS connection) while
 * a writer acquires and releases leases for other cells, one change at a time. Every change's
 * arrival at every watching cell is a timing "lease propagation", from the moment the writer sent
 * the call to the moment the cell received the event; every change must reach every cell.
 */
public class PropagationSimulation extends Simulation {

    record Profile(int watchers, int changes, Duration gap, double p99Ms) {
        static Profile current() {
            return switch (System.getProperty("silk.load.profile", "smoke")) {
                case "full" -> new Profile(Integer.getInteger("silk.load.cells", 1000), Integer.getInteger("silk.load.changes", 200),
                        Duration.ofMillis(Long.getLong("silk.load.gap-ms", 100)), 1000);
                // Smoke: every delivery made, not how fast (the full profile's business).
                default -> new Profile(20, 10, Duration.ofMillis(50), 0);
            };
        }
    }

    static final Profile PROFILE = Profile.current();
    static final String PROPAGATION = "lease propagation";

    final ControllerUnderTest controller;
    final AtomicInteger watching = new AtomicInteger();
    /** When the writer sent each change, by "kind:cell". */
    final Map<String, Long> sent = new ConcurrentHashMap<>();
    final AtomicLong received = new AtomicLong();
    final AtomicInteger changesSent = new AtomicInteger();

    public PropagationSimulation() throws Exception {
        controller = ControllerUnderTest.startOrConnect("10.0.0.0/8");
        var connections = controller.cellConnections();
        Duration hold = Duration.ofMillis(PROFILE.changes() * (PROFILE.gap().toMillis() + 50) + 30_000);
        ScenarioBuilder watchers = scenario("watching cells")
                .exec(s -> s.set("cell", new SimulatedCell(FleetSimulation.cellIp(s.userId()), connections)))
                .exec(Grpc.call("acquire", s -> SimulatedCell.of(s).acquire()))
                .exec(Grpc.call("watch: initial sync", (s, timings) -> SimulatedCell.of(s).watch(0, timings, (d, at) -> {
                    for (WatchDigest.Event e : d.events()) {
                        Long start = sent.get(e.kind() + ":" + e.underlayIp());
                        if (start != null) {
                            received.incrementAndGet();
                            timings.record(PROPAGATION, start, at, null);
                        }
                    }
                }).thenRun(watching::incrementAndGet)))
                // Stay connected until the writer is done and the last events had time to arrive.
                .asLongAs(s -> changesSent.get() < PROFILE.changes()).on(pause(Duration.ofMillis(500)))
                .pause(Duration.ofSeconds(5))
                .exec(s -> {
                    SimulatedCell.of(s).disconnect();
                    return s;
                });
        ScenarioBuilder writer = scenario("writer")
                .asLongAs(s -> watching.get() < PROFILE.watchers()).on(pause(Duration.ofMillis(100)))
                .pause(Duration.ofSeconds(2))
                .repeat(PROFILE.changes(), "change").on(
                        exec(s -> s.set("target", new SimulatedCell("10.201." + (s.getInt("change") >> 8) + "."
                                + (s.getInt("change") & 0xff), connections))),
                        exec(Grpc.call("writer: acquire", s -> {
                            SimulatedCell target = s.get("target");
                            sent.put(WatchDigest.Event.UPSERTED + ":" + target.underlayIp(), System.currentTimeMillis());
                            return target.acquire();
                        })).pause(PROFILE.gap()),
                        exec(Grpc.call("writer: release", s -> {
                            SimulatedCell target = s.get("target");
                            sent.put(WatchDigest.Event.DELETED + ":" + target.underlayIp(), System.currentTimeMillis());
                            return target.release().whenComplete((r, e) -> target.disconnect());
                        })).exec(s -> {
                            changesSent.incrementAndGet();
                            return s;
                        }).pause(PROFILE.gap()));

        var assertions = new java.util.ArrayList<io.gatling.javaapi.core.Assertion>();
        assertions.add(global().failedRequests().count().is(0L));
        // Every change (an acquire and a release each) reached every watching cell.
        assertions.add(details(PROPAGATION).allRequests().count().is(2L * PROFILE.changes() * PROFILE.watchers()));
        if (PROFILE.p99Ms() > 0) {
            assertions.add(details(PROPAGATION).responseTime().percentile(99.0).lt((int) PROFILE.p99Ms()));
        }
        setUp(watchers.injectOpen(rampUsers(PROFILE.watchers()).during(Duration.ofSeconds(PROFILE.watchers() >= 100 ? 10 : 1))),
                writer.injectOpen(atOnceUsers(1)))
                .maxDuration(hold.plusMinutes(2))
                .assertions(assertions);
    }


    @Override
    public void after() {
        try {
            System.out.println("silk: " + received.get() + " lease events received by " + PROFILE.watchers()
                    + " watching cells for " + changesSent.get() + " acquire+release changes");
            if (controller.databaseUrl != null) {
                LeaseTable.read(controller.databaseUrl, FleetSimulation.CELL_PREFIX)
                        .require(PROFILE.watchers(), "leases of the watching cells");
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
