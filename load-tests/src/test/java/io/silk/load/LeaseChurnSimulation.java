package io.silk.load;

import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.scenario;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.grpc.ManagedChannel;
import io.silk.load.grpc.Grpc;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.AcquireResponse;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.ReleaseResponse;
import io.silk.proto.v1.RenewRequest;
import io.silk.proto.v1.RenewResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Lease churn: with N leases already held, concurrent simulated cells each acquire a lease and
 * release it (the pairs the targets count), through the controller's gRPC API (mTLS), while the
 * cells holding the N leases renew them every interval, as a fleet does. Profiles
 * (-Dsilk.load.profile): smoke (seconds, small numbers; part of ./dev test) and full (5,000 held,
 * 32 clients, renew every 30 s, the targets of docs/benchmarks.md as assertions). Settings:
 * -Dsilk.load.held, -Dsilk.load.users, -Dsilk.load.seconds, -Dsilk.load.renew-every (seconds; 0 = none),
 * -Dsilk.load.replicas (controller replicas on one database; the clients spread over them).
 */
public class LeaseChurnSimulation extends Simulation {

    record Profile(int held, int users, Duration duration, Duration renewEvery, double acquireP99Ms, double minPairsPerSecond) {
        static Profile current() {
            return switch (System.getProperty("silk.load.profile", "smoke")) {
                case "full" -> new Profile(Integer.getInteger("silk.load.held", 5000), Integer.getInteger("silk.load.users", 32),
                        Duration.ofSeconds(Long.getLong("silk.load.seconds", 60)),
                        Duration.ofSeconds(Long.getLong("silk.load.renew-every", 30)), 50, 1000);
                // Smoke checks what the run did, not how fast: a cold JVM's first calls on a busy
                // machine are slow, and speed is the full profile's business.
                default -> new Profile(50, 4, Duration.ofSeconds(5), Duration.ofSeconds(1), 0, 0);
            };
        }
    }

    static final Profile PROFILE = Profile.current();
    static final String HELD_PREFIX = "10.100.";

    final ControllerUnderTest controller;
    final List<ManagedChannel> channels = new ArrayList<>();
    final List<LeaseServiceGrpc.LeaseServiceStub> stubs = new ArrayList<>();
    final Lease[] held = new Lease[PROFILE.held()];
    final CpuSplit cpu;

    public LeaseChurnSimulation() throws Exception {
        controller = ControllerUnderTest.startOrConnect("10.0.0.0/8");
        cpu = new CpuSplit(controller);
        for (int i = 0; i < 4; i++) {
            ManagedChannel ch = controller.channel(i);
            channels.add(ch);
            stubs.add(LeaseServiceGrpc.newStub(ch));
        }
        ScenarioBuilder churn = scenario("lease churn").exec(
                Grpc.call("acquire", Grpc.<AcquireRequest, AcquireResponse>unary(
                        s -> AcquireRequest.newBuilder().setUnderlayIp(cell(s)).build(),
                        (q, o) -> stub(q.getUnderlayIp()).acquire(q, o))),
                Grpc.call("release", Grpc.<ReleaseRequest, ReleaseResponse>unary(
                        s -> ReleaseRequest.newBuilder().setUnderlayIp(cell(s)).build(),
                        (q, o) -> stub(q.getUnderlayIp()).release(q, o))));
        ScenarioBuilder renews = scenario("held cells renewing").exec(
                Grpc.call("renew", Grpc.<RenewRequest, RenewResponse>unary(
                        s -> RenewRequest.newBuilder().setLease(held[ThreadLocalRandom.current().nextInt(held.length)]).build(),
                        (q, o) -> stub(q.getLease().getUnderlayIp()).renew(q, o))));

        var assertions = new ArrayList<io.gatling.javaapi.core.Assertion>();
        assertions.add(global().failedRequests().count().is(0L));
        if (PROFILE.acquireP99Ms() > 0) {
            assertions.add(details("acquire").responseTime().percentile(99.0).lt((int) PROFILE.acquireP99Ms()));
        }
        if (PROFILE.minPairsPerSecond() > 0) {
            assertions.add(details("release").requestsPerSec().gte(PROFILE.minPairsPerSecond()));
        }
        var populations = new ArrayList<io.gatling.javaapi.core.PopulationBuilder>();
        populations.add(churn.injectClosed(constantConcurrentUsers(PROFILE.users()).during(PROFILE.duration())));
        if (!PROFILE.renewEvery().isZero() && PROFILE.held() > 0) {
            double perSecond = PROFILE.held() / (double) PROFILE.renewEvery().toSeconds();
            populations.add(renews.injectOpen(constantUsersPerSec(perSecond).during(PROFILE.duration()).randomized()));
        }
        setUp(populations).assertions(assertions);
    }

    LeaseServiceGrpc.LeaseServiceStub stub(String cell) {
        return stubs.get(Math.floorMod(cell.hashCode(), stubs.size()));
    }

    /** One made-up cell per virtual user. */
    static String cell(Session s) {
        long id = s.userId();
        return "10.200." + ((id >> 8) & 0xff) + "." + (id & 0xff);
    }

    @Override
    public void before() {
        // The leases held throughout the run.
        try {
            var blocking = LeaseServiceGrpc.newBlockingStub(channels.getFirst());
            ExecutorService pool = Executors.newFixedThreadPool(16);
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < PROFILE.held(); i++) {
                String cell = HELD_PREFIX + (i >> 8) + "." + (i & 0xff);
                int index = i;
                done.add(pool.submit(() -> held[index] = blocking.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease()));
            }
            for (Future<?> f : done) {
                f.get();
            }
            pool.shutdown();
            cpu.start();
        } catch (Exception e) {
            throw new IllegalStateException("pre-filling leases failed", e);
        }
    }

    @Override
    public void after() {
        System.out.println("silk: CPU during the run: " + cpu.sinceStart());
        try {
            var leases = LeaseServiceGrpc.newBlockingStub(channels.getFirst()).list(ListRequest.getDefaultInstance()).getLeasesList();
            Set<String> subnets = new HashSet<>();
            long held = 0;
            for (var l : leases) {
                if (!subnets.add(l.getOverlaySubnet())) {
                    throw new AssertionError("two leases share " + l.getOverlaySubnet());
                }
                if (l.getUnderlayIp().startsWith(HELD_PREFIX)) {
                    held++;
                }
            }
            if (held != PROFILE.held()) {
                throw new AssertionError("leases held before the run: " + PROFILE.held() + ", after: " + held);
            }
            System.out.println("silk: after the run List shows " + leases.size() + " leases, all subnets distinct, none of the "
                    + PROFILE.held() + " held leases lost");
            if (controller.databaseUrl != null) {
                LeaseTable.read(controller.databaseUrl, HELD_PREFIX).require(PROFILE.held(), "leases held before the run");
            }
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            try {
                controller.close();
            } catch (Exception ignored) {
                // going anyway
            }
        }
    }
}
