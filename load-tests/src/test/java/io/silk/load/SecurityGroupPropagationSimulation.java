package io.silk.load;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.pause;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gatling.javaapi.core.Assertion;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import io.grpc.ManagedChannel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Security-group changes reaching the cells: N simulated cells each watch the policy stream for
 * the one space they host (of {@code spaces}); an operator alternately edits a globally enabled
 * group (its rules and name: every cell must receive it) and binds, then unbinds, a second group
 * to one space (the cells of that space must receive each). Each delivery is timed from the REST
 * call that made it ("propagation", {@link PolicyPropagation}). Profiles: smoke (part of
 * ./dev test: every delivery made) and full (./dev load SecurityGroupPropagation: 1,000 cells,
 * p99 < 1 s asserted).
 */
public class SecurityGroupPropagationSimulation extends Simulation {

    record Profile(int cells, int spaces, int changes, Duration gap, int p99Ms) {
        static Profile current() {
            return switch (System.getProperty("silk.load.profile", "smoke")) {
                case "full" -> new Profile(Integer.getInteger("silk.load.cells", 1000), 50, Integer.getInteger("silk.load.changes", 100),
                        Duration.ofMillis(Long.getLong("silk.load.gap-ms", 200)), 1000);
                default -> new Profile(20, 5, 6, Duration.ofMillis(100), 0);
            };
        }
    }

    static final Profile PROFILE = Profile.current();
    static final String API = "/networking/v1/external/security_groups";
    static final Duration SETTLE = Duration.ofSeconds(PROFILE.cells() > 100 ? 5 : 2);
    static final Duration DRAIN = Duration.ofSeconds(3);

    final ControllerUnderTest controller;
    final PolicyServerUnderTest policyServer;
    final String adminAuth;
    final List<ManagedChannel> channels = new ArrayList<>();
    final PolicyPropagation propagation = new PolicyPropagation();
    final AtomicInteger nextCell = new AtomicInteger();
    final java.util.concurrent.atomic.AtomicBoolean operatorDone = new java.util.concurrent.atomic.AtomicBoolean();
    volatile String globalGuid;
    volatile String spaceGuid;

    public SecurityGroupPropagationSimulation() throws Exception {
        controller = ControllerUnderTest.startOrConnect("10.0.0.0/8");
        policyServer = PolicyServerUnderTest.startOrConnect(controller.databaseUrl, List.of());
        adminAuth = policyServer.authorization("network.admin");
        for (int i = 0; i < Integer.getInteger("silk.load.cell-channels", 8); i++) {
            channels.add(controller.channel(i));
        }
        HttpProtocolBuilder protocol = policyServer.protocol(adminAuth);

        ScenarioBuilder cells = scenario("cells")
                .exec(propagation.captureStats())
                .exec(s -> {
                    int c = nextCell.getAndIncrement();
                    var cell = propagation.new Cell(List.of(), List.of(space(c % PROFILE.spaces())), channels.get(c % channels.size()));
                    cell.start(s);
                    return s.set("cell", cell);
                })
                // Connected until the operator is done and the last changes had time to arrive.
                .asLongAs(s -> !operatorDone.get()).on(pause(Duration.ofMillis(200)))
                .pause(DRAIN)
                .exec(s -> {
                    propagation.reportMissing();
                    ((PolicyPropagation.Cell) s.get("cell")).close();
                    return s;
                });

        int cellsPerSpace = PROFILE.cells() / PROFILE.spaces();
        ScenarioBuilder operator = scenario("operator")
                .pause(SETTLE)
                .repeat(PROFILE.changes(), "n").on(
                        // A global group edited: every cell.
                        exec(s -> {
                            String name = "asg-global-v" + s.getInt("n");
                            propagation.expect(PolicyPropagation.groupKey(name), PROFILE.cells());
                            return s.set("name", name);
                        })
                        .exec(http("edit global group").patch(s -> API + "/" + globalGuid).body(StringBody(s ->
                                "{\"name\":\"" + s.getString("name") + "\",\"rules\":[{\"protocol\":\"tcp\",\"destination\":"
                                        + "\"10.10.0.0/16\",\"ports\":\"" + (1000 + s.getInt("n")) + "\"}]}")).check(status().is(200)))
                        .pause(PROFILE.gap())
                        // A group bound to one space, then unbound: the cells of that space.
                        .exec(s -> {
                            String space = space(s.getInt("n") % PROFILE.spaces());
                            propagation.expect(PolicyPropagation.bindingKey("CREATED", spaceGuid, space, "running"), cellsPerSpace);
                            return s.set("space", space);
                        })
                        .exec(http("bind group").post(s -> API + "/" + spaceGuid + "/relationships/running_spaces")
                                .body(StringBody(s -> "{\"data\":[{\"guid\":\"" + s.getString("space") + "\"}]}")).check(status().is(200)))
                        .exec(s -> {
                            propagation.expect(PolicyPropagation.bindingKey("DELETED", spaceGuid, s.getString("space"), "running"),
                                    cellsPerSpace);
                            return s;
                        })
                        .exec(http("unbind group").delete(s -> API + "/" + spaceGuid + "/relationships/running_spaces/"
                                + s.getString("space")).check(status().is(204)))
                        .pause(PROFILE.gap()))
                .exec(s -> {
                    operatorDone.set(true);
                    return s;
                });

        var assertions = new ArrayList<Assertion>();
        assertions.add(global().failedRequests().count().is(0L));
        // Every change reached every cell it concerns.
        assertions.add(details(PolicyPropagation.REQUEST).allRequests().count()
                .is((long) PROFILE.changes() * (PROFILE.cells() + 2L * cellsPerSpace)));
        if (PROFILE.p99Ms() > 0) {
            assertions.add(details(PolicyPropagation.REQUEST).responseTime().percentile(99.0).lt(PROFILE.p99Ms()));
        }
        setUp(cells.injectOpen(atOnceUsers(PROFILE.cells())), operator.injectOpen(atOnceUsers(1)))
                .protocols(protocol)
                .assertions(assertions);
    }

    static String space(int i) {
        return "space-" + i;
    }

    @Override
    public void before() {
        try {
            globalGuid = create("{\"name\":\"asg-global\",\"globally_enabled\":{\"running\":true},"
                    + "\"rules\":[{\"protocol\":\"udp\",\"destination\":\"10.0.0.2\",\"ports\":\"53\"}]}");
            spaceGuid = create("{\"name\":\"asg-space\",\"rules\":[{\"protocol\":\"tcp\",\"destination\":\"10.20.0.0/16\",\"ports\":\"443\"}]}");
        } catch (Exception e) {
            throw new IllegalStateException("creating the simulation's security groups failed", e);
        }
    }

    private String create(String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(policyServer.url + API)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (adminAuth != null) {
            b.header("Authorization", adminAuth);
        }
        HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("create security group: " + r.statusCode() + " " + r.body());
        }
        return new ObjectMapper().readTree(r.body()).get("guid").asText();
    }

    @Override
    public void after() {
        try {
            System.out.printf("silk: %d security-group changes sent to %d cells in %d spaces; %d deliveries still pending%n",
                    3 * PROFILE.changes(), PROFILE.cells(), PROFILE.spaces(), propagation.pending());
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
}
