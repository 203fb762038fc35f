package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Policies written through the policy server's REST API reach a cell's policy stream on the
 * controller, by push, filtered to the cell's apps: the real jars as processes on loopback, one
 * database.
 */
@ExtendWith(LabExtension.class)
class PolicyStreamEndToEndTest {

    /** Only for its work directory and its processes: everything here runs on the host's loopback. */
    static Lab lab;
    static int grpcPort;
    static int apiPort;
    static ManagedChannel channel;

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static Process start(String log, String... command) throws Exception {
        return lab.spawnOnHost(log, List.of(command));
    }

    static void awaitHealthy(String url, Process p) {
        HttpClient http = HttpClient.newHttpClient();
        Lab.await(url, Duration.ofSeconds(90), () -> {
            if (!p.isAlive()) {
                throw new AssertionError("process exited before " + url + " was healthy");
            }
            try {
                return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        });
    }

    @BeforeAll
    static void startServices(Lab made) throws Exception {
        lab = made;
        grpcPort = freePort();
        int controllerHttp = freePort();
        int dbPort = freePort();
        apiPort = freePort();
        Path data = lab.work().resolve("controller-db");
        Process controller = start("controller", Lab.JAVA, "--enable-native-access=ALL-UNNAMED", "-Xmx384m", "-jar",
                Lab.ROOT.resolve("controller/target/silk-controller-0.1.0-SNAPSHOT.jar").toString(),
                "--spring.grpc.server.port=" + grpcPort, "--server.port=" + controllerHttp,
                "--silk.controller.tls.enabled=false", "--silk.controller.embedded-database.data-dir=" + data,
                "--silk.controller.embedded-database.port=" + dbPort);
        awaitHealthy("http://127.0.0.1:" + controllerHttp + "/actuator/health/readiness", controller);
        Process policy = start("policy-server", Lab.JAVA, "-Xmx384m", "-jar",
                Lab.ROOT.resolve("policy-server/target/silk-policy-server-0.1.0-SNAPSHOT.jar").toString(),
                "--server.port=" + apiPort, "--spring.datasource.url=jdbc:postgresql://127.0.0.1:" + dbPort + "/postgres",
                "--spring.datasource.username=postgres", "--spring.datasource.password=postgres",
                "--silk.policy-server.local-development=true");
        awaitHealthy("http://127.0.0.1:" + apiPort + "/actuator/health", policy);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    }

    /** The lab (LabExtension) stops the processes after this. */
    @AfterAll
    static void closeTheChannel() {
        if (channel != null) {
            channel.shutdownNow();
        }
    }

    static void post(String path, String body) throws Exception {
        var r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort
                + "/networking/v1/external" + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    static String policy(String src, String dst, int port) {
        return "{\"policies\":[{\"source\":{\"id\":\"" + src + "\"},\"destination\":{\"id\":\"" + dst
                + "\",\"protocol\":\"tcp\",\"ports\":{\"start\":" + port + ",\"end\":" + port + "}}}]}";
    }

    static BlockingQueue<PolicyWatchResponse> watch(long from, String... apps) {
        BlockingQueue<PolicyWatchResponse> q = new LinkedBlockingQueue<>();
        PolicyServiceGrpc.newStub(channel).watch(PolicyWatchRequest.newBuilder().addAllAppIds(List.of(apps))
                .setFromRevision(from).build(), new StreamObserver<>() {
                    public void onNext(PolicyWatchResponse r) { q.add(r); }
                    public void onError(Throwable t) { }
                    public void onCompleted() { }
                });
        return q;
    }

    static PolicyWatchResponse next(BlockingQueue<PolicyWatchResponse> q) throws Exception {
        PolicyWatchResponse r = q.poll(5, TimeUnit.SECONDS);
        assertThat(r).as("a message on the policy stream").isNotNull();
        return r;
    }

    @Test
    void policyWritesReachTheCellsWhoseAppsTheyConcernByPush() throws Exception {
        var cellB = watch(0, "app-b");
        PolicyWatchResponse snapshot = next(cellB);
        assertThat(snapshot.getReset()).isTrue();
        assertThat(snapshot.getPoliciesCount()).isZero();

        post("/policies", policy("app-x", "app-y", 80)); // concerns nobody on this cell
        post("/policies", policy("app-a", "app-b", 8080));
        long t0 = System.nanoTime(); // from the 200: the POST's own time is the API's, not the push's
        PolicyWatchResponse created = next(cellB);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(created.getChangesCount()).isEqualTo(1);
        PolicyChange c = created.getChanges(0);
        assertThat(c.getKind()).isEqualTo(PolicyChange.Kind.CREATED);
        assertThat(c.getC2C().getSourceId()).isEqualTo("app-a");
        assertThat(c.getC2C().getDestinationId()).isEqualTo("app-b");
        assertThat(c.getC2C().getStartPort()).isEqualTo(8080);
        assertThat(c.getC2C().getSourceTag()).isPositive();
        assertThat(c.getC2C().getDestinationTag()).isPositive().isNotEqualTo(c.getC2C().getSourceTag());
        assertThat(millis).as("ms from the API's 200 to the stream").isLessThan(1000);

        post("/egress_policies", "{\"egress_policies\":[{\"source\":{\"id\":\"app-b\"},\"destination\":"
                + "{\"cidr\":\"203.0.113.0/24\",\"protocol\":\"tcp\",\"ports\":{\"start\":443,\"end\":443}}}]}");
        PolicyWatchResponse egress = next(cellB);
        assertThat(egress.getChanges(0).getEgress().getStartIp()).isEqualTo("203.0.113.0");
        assertThat(egress.getChanges(0).getEgress().getEndIp()).isEqualTo("203.0.113.255");
        long resumeFrom = egress.getRevision();

        post("/policies/delete", policy("app-a", "app-b", 8080));
        PolicyWatchResponse deleted = next(cellB);
        assertThat(deleted.getChanges(0).getKind()).isEqualTo(PolicyChange.Kind.DELETED);

        // A cell that resumes gets what it missed, no snapshot.
        var resumed = watch(resumeFrom, "app-b");
        PolicyWatchResponse backlog = next(resumed);
        assertThat(backlog.getReset()).isFalse();
        assertThat(backlog.getChangesList()).extracting(PolicyChange::getKind).containsExactly(PolicyChange.Kind.DELETED);

        // A fresh cell for app-b sees only what is current: the egress policy.
        PolicyWatchResponse fresh = next(watch(0, "app-b"));
        assertThat(fresh.getPoliciesCount()).isZero();
        assertThat(fresh.getEgressPoliciesCount()).isEqualTo(1);
    }
}
