package io.silk.load;

import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
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

/**
 * Lease churn: with N leases already held, concurrent simulated cells each acquire a lease, renew
 * it and release it, through the controller's gRPC API (mTLS). Profiles (-Dsilk.load.profile):
 * smoke (seconds, small numbers; part of ./dev test) and full (5,000 held, 32 clients, the
 * targets of docs/benchmarks.md as assertions).
 */
public class LeaseChurnSimulation extends Simulation {

    record Profile(int held, int users, Duration duration, double acquireP99Ms, double minPairsPerSecond) {
        static Profile current() {
            return switch (System.getProperty("silk.load.profile", "smoke")) {
                case "full" -> new Profile(Integer.getInteger("silk.load.held", 5000), Integer.getInteger("silk.load.users", 32),
                        Duration.ofSeconds(Long.getLong("silk.load.seconds", 60)), 50, 1000);
                default -> new Profile(50, 4, Duration.ofSeconds(5), 1000, 0);
            };
        }
    }

    static final Profile PROFILE = Profile.current();
    static final String HELD_PREFIX = "10.100.";

    final ControllerUnderTest controller;
    final List<ManagedChannel> channels = new ArrayList<>();
    final List<LeaseServiceGrpc.LeaseServiceStub> stubs = new ArrayList<>();

    public LeaseChurnSimulation() throws Exception {
        controller = ControllerUnderTest.startOrConnect("10.0.0.0/8");
        for (int i = 0; i < 4; i++) {
            ManagedChannel ch = controller.channel(i);
            channels.add(ch);
            stubs.add(LeaseServiceGrpc.newStub(ch));
        }
        ScenarioBuilder churn = scenario("lease churn").exec(
                Grpc.call("acquire", Grpc.<AcquireRequest, AcquireResponse>unary(
                        s -> AcquireRequest.newBuilder().setUnderlayIp(cell(s)).build(),
                        (q, o) -> stub(q.getUnderlayIp()).acquire(q, o),
                        (s, r) -> s.set("lease", r.getLease()))),
                Grpc.call("renew", Grpc.<RenewRequest, RenewResponse>unary(
                        s -> RenewRequest.newBuilder().setLease((Lease) s.get("lease")).build(),
                        (q, o) -> stub(q.getLease().getUnderlayIp()).renew(q, o))),
                Grpc.call("release", Grpc.<ReleaseRequest, ReleaseResponse>unary(
                        s -> ReleaseRequest.newBuilder().setUnderlayIp(cell(s)).build(),
                        (q, o) -> stub(q.getUnderlayIp()).release(q, o))));

        var assertions = new ArrayList<io.gatling.javaapi.core.Assertion>();
        assertions.add(global().failedRequests().count().is(0L));
        assertions.add(details("acquire").responseTime().percentile(99.0).lt((int) PROFILE.acquireP99Ms()));
        if (PROFILE.minPairsPerSecond() > 0) {
            assertions.add(details("release").requestsPerSec().gte(PROFILE.minPairsPerSecond()));
        }
        setUp(churn.injectClosed(constantConcurrentUsers(PROFILE.users()).during(PROFILE.duration())))
                .assertions(assertions);
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
                done.add(pool.submit(() -> blocking.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build())));
            }
            for (Future<?> f : done) {
                f.get();
            }
            pool.shutdown();
        } catch (Exception e) {
            throw new IllegalStateException("pre-filling leases failed", e);
        }
    }

    @Override
    public void after() {
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
            System.out.println("silk: after the run " + leases.size() + " leases, all subnets distinct, none of the "
                    + PROFILE.held() + " held leases lost");
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
