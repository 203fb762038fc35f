package io.silk.load;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gatling.javaapi.core.Assertion;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import io.grpc.ManagedChannel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Policy churn: operators create and delete app → app policies through the policy server's REST
 * API (one policy per request, real JWTs with network.write), with a number of policies already
 * stored; meanwhile simulated cells each hold a controller PolicyService.Watch stream for the apps
 * they host, and every change they receive is timed from the REST call that made it
 * ("propagation"). Then a phase of list-by-app-id requests against the pre-filled policies. After
 * the run, every policy created and not deleted must be stored, and the pre-filled ones too.
 * Profiles (-Dsilk.load.profile): smoke (seconds, small numbers; part of ./dev test) and full (the
 * targets of docs/benchmarks.md as assertions).
 */
public class PolicyChurnSimulation extends Simulation {

    /**
     * @param prefill         policies stored before the run (10 per pre-filled source app)
     * @param operators       concurrent operators (closed model), one request at a time each
     * @param deleteEvery     every n-th policy created is deleted again straight after (0: none)
     * @param cells           simulated cells watching; each hosts appsPerCell apps, each app runs on two cells
     * @param listUsers       concurrent callers of list-by-app-id in the list phase, after the churn
     */
    record Profile(int prefill, int operators, Duration duration, int deleteEvery, int cells, int appsPerCell,
            int listUsers, Duration listDuration, int createP99Ms, double minCreatesPerSecond, int listP50Ms,
            int propagationP99Ms) {
        static Profile current() {
            return switch (System.getProperty("silk.load.profile", "smoke")) {
                case "full" -> new Profile(Integer.getInteger("silk.load.prefill", 10_000), Integer.getInteger("silk.load.users", 16),
                        Duration.ofSeconds(Long.getLong("silk.load.seconds", 60)), Integer.getInteger("silk.load.delete-every", 4),
                        Integer.getInteger("silk.load.cells", 1000), 10, Integer.getInteger("silk.load.list-users", 2),
                        Duration.ofSeconds(Long.getLong("silk.load.list-seconds", 20)), 30, 3000, 1, 1000);
                // Smoke checks what the run did (no failed request, every delivery made, every
                // policy stored), not how fast: speed is the full profile's business.
                default -> new Profile(200, 4, Duration.ofSeconds(5), 4, 20, 4, 2, Duration.ofSeconds(3), 0, 0, 0, 0);
            };
        }
    }

    static final Profile PROFILE = Profile.current();
    static final String API = "/networking/v1/external/policies";
    /** Time for the cells' watch streams to open before the operators start. */
    static final Duration SETTLE = Duration.ofSeconds(PROFILE.cells() > 100 ? 5 : 2);
    /** Time after the churn for the last changes to arrive before missing ones count as failures. */
    static final Duration DRAIN = Duration.ofSeconds(3);
    static final String CREATE_RATE = "creates/s at or above the target";

    /** A policy, as the REST API takes it. */
    record Policy(String source, String destination, int port) {
        String json() {
            return "{\"policies\":[{\"source\":{\"id\":\"" + source + "\"},\"destination\":{\"id\":\"" + destination
                    + "\",\"protocol\":\"tcp\",\"ports\":{\"start\":" + port + ",\"end\":" + port + "}}}]}";
        }

        String key(String kind) {
            return PolicyPropagation.key(kind, source, destination, "tcp", port, port);
        }
    }

    final ControllerUnderTest controller;
    final PolicyServerUnderTest policyServer;
    final String adminAuth;
    final List<ManagedChannel> channels = new ArrayList<>();
    final PolicyPropagation propagation = new PolicyPropagation();
    /** The apps of the churn; app j runs on the cells in hosts.get(j). */
    final int apps = Math.max(2, PROFILE.cells() * PROFILE.appsPerCell() / 2);
    final List<Set<Integer>> hosts = new ArrayList<>();
    final AtomicLong sequence = new AtomicLong();
    final AtomicInteger nextCell = new AtomicInteger();
    /** Created by the churn and not deleted: what must be stored after the run. */
    final Set<Policy> stored = ConcurrentHashMap.newKeySet();
    final AtomicLong createsOk = new AtomicLong();
    final AtomicLong firstCreate = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong lastCreate = new AtomicLong();
    final CpuSample cpuStart = new CpuSample();
    final CpuSample cpuEnd = new CpuSample();
    volatile double churnRate;

    public PolicyChurnSimulation() throws Exception {
        controller = ControllerUnderTest.startOrConnect("10.0.0.0/8");
        policyServer = PolicyServerUnderTest.startOrConnect(controller.databaseUrl, List.of());
        adminAuth = policyServer.authorization("network.admin");
        String writeAuth = policyServer.authorization("network.write");
        int channelCount = Integer.getInteger("silk.load.cell-channels", 8);
        for (int i = 0; i < channelCount; i++) {
            channels.add(controller.channel(i));
        }
        for (int j = 0; j < apps; j++) {
            hosts.add(new LinkedHashSet<>());
        }
        for (int c = 0; c < PROFILE.cells(); c++) {
            for (String app : cellApps(c)) {
                hosts.get(Integer.parseInt(app.substring("app-".length()))).add(c);
            }
        }

        HttpProtocolBuilder protocol = policyServer.protocol(writeAuth);

        ScenarioBuilder cells = scenario("cells")
                .exec(propagation.captureStats())
                .exec(s -> {
                    int c = nextCell.getAndIncrement();
                    var cell = propagation.new Cell(cellApps(c), channels.get(c % channels.size()));
                    cell.start(s);
                    return s.set("cell", cell);
                })
                .pause(SETTLE.plus(PROFILE.duration()).plus(DRAIN))
                .exec(s -> {
                    propagation.reportMissing();
                    ((PolicyPropagation.Cell) s.get("cell")).close();
                    return s;
                });

        ScenarioBuilder operators = scenario("operators")
                .exec(s -> {
                    long n = sequence.getAndIncrement();
                    Policy p = churnPolicy(n);
                    propagation.expect(p.key("CREATED"), concerned(p));
                    firstCreate.accumulateAndGet(System.currentTimeMillis(), Math::min);
                    return s.set("n", n).set("policy", p);
                })
                .exec(http("create").post(API).body(StringBody(s -> ((Policy) s.get("policy")).json()))
                        .check(status().is(200).saveAs("created")))
                .exec(s -> {
                    Policy p = s.get("policy");
                    lastCreate.accumulateAndGet(System.currentTimeMillis(), Math::max);
                    if (!s.contains("created")) {
                        propagation.cancel(p.key("CREATED"));
                        return s;
                    }
                    createsOk.incrementAndGet();
                    stored.add(p);
                    boolean delete = PROFILE.deleteEvery() > 0 && s.getLong("n") % PROFILE.deleteEvery() == 0;
                    if (delete) {
                        propagation.expect(p.key("DELETED"), concerned(p));
                    }
                    return s.remove("created").set("delete", delete);
                })
                .doIf(s -> s.getBoolean("delete")).then(
                        exec(http("delete").post(API + "/delete").body(StringBody(s -> ((Policy) s.get("policy")).json()))
                                .check(status().is(200).saveAs("deleted")))
                        .exec(s -> {
                            Policy p = s.get("policy");
                            if (s.contains("deleted")) {
                                stored.remove(p);
                            } else {
                                propagation.cancel(p.key("DELETED"));
                            }
                            return s.remove("deleted");
                        }));

        // After the churn: list by the id of a pre-filled source app (10 policies each).
        int prefilledSources = Math.max(1, PROFILE.prefill() / 10);
        ScenarioBuilder listers = scenario("listers")
                .exec(http("list by app id").get(s -> API + "?id=pre-src-" + ThreadLocalRandom.current().nextInt(prefilledSources))
                        .check(status().is(200), jsonPath("$.total_policies").ofInt().is(Math.min(10, PROFILE.prefill()))));

        ScenarioBuilder cpu = scenario("cpu sampler")
                .pause(SETTLE)
                .exec(s -> {
                    cpuStart.take();
                    return s;
                })
                .pause(PROFILE.duration())
                .exec(s -> {
                    cpuEnd.take();
                    // Gatling's requestsPerSec divides by the whole run (cells settling, list phase), so
                    // the churn's own rate is judged here and reported as an entry of its own: KO fails the run.
                    long first = firstCreate.get();
                    long now = System.currentTimeMillis();
                    double rate = createsOk.get() / ((now - first) / 1000.0);
                    churnRate = rate;
                    propagation.log(CREATE_RATE, first, now, rate >= PROFILE.minCreatesPerSecond() ? null
                            : String.format("%.0f creates/s, below the target of %.0f", rate, PROFILE.minCreatesPerSecond()));
                    return s;
                });

        var assertions = new ArrayList<Assertion>();
        assertions.add(global().failedRequests().count().is(0L));
        assertions.add(details(CREATE_RATE).failedRequests().count().is(0L));
        if (PROFILE.createP99Ms() > 0) {
            assertions.add(details("create").responseTime().percentile(99.0).lte(PROFILE.createP99Ms()));
            assertions.add(details("list by app id").responseTime().percentile(50.0).lte(PROFILE.listP50Ms()));
            assertions.add(details(PolicyPropagation.REQUEST).responseTime().percentile(99.0).lt(PROFILE.propagationP99Ms()));
        }
        setUp(
                cells.injectOpen(atOnceUsers(PROFILE.cells())),
                cpu.injectOpen(atOnceUsers(1)),
                operators.injectClosed(constantConcurrentUsers(0).during(SETTLE), constantConcurrentUsers(PROFILE.operators()).during(PROFILE.duration()))
                        .andThen(listers.injectClosed(constantConcurrentUsers(0).during(DRAIN),
                                constantConcurrentUsers(PROFILE.listUsers()).during(PROFILE.listDuration()))))
                .protocols(protocol)
                .assertions(assertions);
    }

    /** Cell c hosts appsPerCell consecutive apps; with apps = cells × appsPerCell / 2 every app runs on two cells. */
    List<String> cellApps(int c) {
        List<String> mine = new ArrayList<>();
        for (int i = 0; i < PROFILE.appsPerCell(); i++) {
            mine.add("app-" + Math.floorMod(c * PROFILE.appsPerCell() + i, apps));
        }
        return mine;
    }

    /** The n-th policy of the churn: every (source, destination, port) distinct, sources spread evenly (the quota is per source). */
    Policy churnPolicy(long n) {
        long round = n / apps;
        int source = (int) (n % apps);
        int destination = (int) ((source + 1 + round % (apps - 1)) % apps);
        int port = 1 + (int) ((n / ((long) apps * (apps - 1))) % 65535);
        return new Policy("app-" + source, "app-" + destination, port);
    }

    /** How many cells must receive a change of the policy: those hosting its source or its destination. */
    int concerned(Policy p) {
        Set<Integer> cells = new HashSet<>(hosts.get(Integer.parseInt(p.source().substring(4))));
        cells.addAll(hosts.get(Integer.parseInt(p.destination().substring(4))));
        return cells.size();
    }

    @Override
    public void before() {
        // Pre-fill through the API as an admin, 1,000 policies per request: source pre-src-k has 10
        // policies to pre-dst-k (ports 1..10), so list-by-app-id answers the same size at any prefill.
        try {
            HttpClient client = HttpClient.newHttpClient();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> done = new ArrayList<>();
            long start = System.nanoTime();
            for (int from = 0; from < PROFILE.prefill(); from += 1000) {
                int first = from;
                int last = Math.min(PROFILE.prefill(), from + 1000);
                done.add(pool.submit(() -> {
                    StringBuilder body = new StringBuilder("{\"policies\":[");
                    for (int i = first; i < last; i++) {
                        Policy p = new Policy("pre-src-" + i / 10, "pre-dst-" + i / 10, 1 + i % 10);
                        String one = p.json();
                        body.append(i == first ? "" : ",").append(one, "{\"policies\":[".length(), one.length() - 2);
                    }
                    body.append("]}");
                    HttpResponse<String> r = client.send(request(API).POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException("pre-fill of policies " + first + ".." + last + ": " + r.statusCode() + " " + r.body());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            pool.shutdown();
            System.out.printf("silk: pre-filled %d policies through the API (batches of 1,000) in %.1f s%n",
                    PROFILE.prefill(), (System.nanoTime() - start) / 1e9);
        } catch (Exception e) {
            throw new IllegalStateException("pre-filling policies failed", e);
        }
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(policyServer.url + path)).header("Content-Type", "application/json");
        return adminAuth == null ? b : b.header("Authorization", adminAuth);
    }

    @Override
    public void after() {
        try {
            System.out.printf("silk: %d creates in %.1f s of churn: %.0f creates/s (target >= %.0f)%n", createsOk.get(),
                    (lastCreate.get() - firstCreate.get()) / 1000.0, churnRate, PROFILE.minCreatesPerSecond());
            System.out.println("silk: CPU during the churn " + cpuStart.until(cpuEnd));
            verifyStored();
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            try {
                policyServer.close();
                controller.close();
            } catch (Exception ignored) {
                // going anyway
            }
        }
    }

    /** Every pre-filled policy and every churn policy created and not deleted is stored; nothing else is. */
    void verifyStored() {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(request(API).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new AssertionError("listing every policy: " + r.statusCode() + " " + r.body());
            }
            JsonNode all = new ObjectMapper().readTree(r.body()).get("policies");
            int prefilled = 0;
            Set<Policy> churn = new HashSet<>();
            for (JsonNode p : all) {
                String source = p.get("source").get("id").asText();
                if (source.startsWith("pre-")) {
                    prefilled++;
                } else {
                    churn.add(new Policy(source, p.get("destination").get("id").asText(),
                            p.get("destination").get("ports").get("start").asInt()));
                }
            }
            if (prefilled != PROFILE.prefill()) {
                throw new AssertionError("pre-filled policies: " + PROFILE.prefill() + ", stored after the run: " + prefilled);
            }
            if (!churn.equals(stored)) {
                Set<Policy> lost = new HashSet<>(stored);
                lost.removeAll(churn);
                Set<Policy> extra = new HashSet<>(churn);
                extra.removeAll(stored);
                throw new AssertionError("after the run " + lost.size() + " policies lost (e.g. " + lost.stream().limit(3).toList()
                        + "), " + extra.size() + " stored that should not be (e.g. " + extra.stream().limit(3).toList() + ")");
            }
            System.out.printf("silk: after the run %d policies stored (%d pre-filled + %d from the churn), none lost;"
                    + " propagation deliveries missing: %d%n", prefilled + churn.size(), prefilled, churn.size(), propagation.pending());
        } catch (AssertionError e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("checking the stored policies failed", e);
        }
    }

    /** CPU seconds used so far by Gatling (this JVM), the controller, its PostgreSQL and the policy server. */
    final class CpuSample {
        private double[] seconds;
        private long at;

        synchronized void take() {
            at = System.nanoTime();
            double controllerCpu = controller.process().map(t -> cpu(t.rootPid())).orElse(0.0);
            // pg_ctl detaches PostgreSQL from the controller's process tree: count every postgres
            // process (no other runs during a load run: those hold /tmp/silk-load.lock).
            double postgres = ProcessHandle.allProcesses().filter(p -> p.info().command().orElse("").endsWith("/postgres"))
                    .mapToDouble(p -> cpu(p.pid())).sum();
            seconds = new double[] {cpu(ProcessHandle.current().pid()), controllerCpu, postgres,
                    policyServer.pid() < 0 ? 0 : cpu(policyServer.pid())};
        }

        /** CPU seconds of the process and of the children it has reaped (utime, stime, cutime, cstime; 100 ticks/s). */
        private static double cpu(long pid) {
            try {
                String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return (Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14])) / 100.0;
            } catch (java.io.IOException | RuntimeException gone) {
                return 0; // the process ended while we looked
            }
        }

        /** Cores used by each between this sample and the later one. */
        synchronized String until(CpuSample later) {
            if (seconds == null || later.seconds == null) {
                return "(not sampled)";
            }
            double wall = (later.at - at) / 1e9;
            String[] names = {"gatling", "controller", "postgresql", "policy-server"};
            StringBuilder s = new StringBuilder();
            double total = 0;
            for (int i = 0; i < names.length; i++) {
                double cores = (later.seconds[i] - seconds[i]) / wall;
                total += cores;
                s.append(String.format("%s %.2f, ", names[i], cores));
            }
            return s.append(String.format("total %.2f cores over %.0f s", total, wall)).toString();
        }
    }
}
