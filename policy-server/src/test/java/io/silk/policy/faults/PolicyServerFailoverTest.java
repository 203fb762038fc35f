package io.silk.policy.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.silk.policy.PolicyServerHarness;
import io.silk.testing.PatroniCluster;
import io.silk.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The policy server on the real Patroni cluster while an operator writes policies one after
 * another: the primary killed with kill -9, the old primary rejoining, then a planned switchover.
 * Writes resume by themselves (the shared renewable pool follows the new primary), a write during
 * the failover is a 503 with a JSON body, and every policy acknowledged is there afterwards.
 */
class PolicyServerFailoverTest {

    static final String POLICIES = "/networking/v1/external/policies";

    @Test
    void writesResumeAfterTheLossOfThePrimaryAndASwitchoverLosingNoAcknowledgedPolicy() throws Exception {
        Path dir = Files.createTempDirectory("silk-ha-policy");
        try (PatroniCluster cluster = PatroniCluster.start(dir);
                PolicyServerHarness server = new PolicyServerHarness(
                        new TestPostgres.Database(cluster.jdbcUrl(), cluster.user(), cluster.password()));
                Writer writer = new Writer(server, server.token("admin-user", "network.admin"))) {
            writer.awaitAcknowledged(20, Duration.ofSeconds(30));

            long killed = System.nanoTime();
            String old = cluster.killPrimary(PatroniCluster.Fault.NODE);
            // Twenty writes through the new primary; the longest stretch without one is the outage.
            awaitNewPrimary(cluster, old);
            writer.awaitAcknowledged(writer.acknowledged.size() + 20, Duration.ofSeconds(30));
            Duration afterKill = writer.longestGapAfter(killed);
            cluster.rejoin(old);
            cluster.awaitReplica(old, Duration.ofSeconds(60));
            cluster.awaitHealthy(Duration.ofSeconds(60));
            writer.awaitAcknowledged(writer.acknowledged.size() + 20, Duration.ofSeconds(30));

            long switched = System.nanoTime();
            cluster.switchover();
            writer.awaitAcknowledged(writer.acknowledged.size() + 20, Duration.ofSeconds(30));
            Duration switchoverGap = writer.longestGapAfter(switched);
            writer.stop();
            System.out.printf("silk: policy server: longest gap between acknowledged writes around kill -9 of the primary %d ms,"
                    + " around the switchover %d ms; %d acknowledged, %d refused with 503%n",
                    afterKill.toMillis(), switchoverGap.toMillis(), writer.acknowledged.size(), writer.refused.size());

            assertThat(writer.unexpected).as("answers other than 200 and a 503 with a JSON body").isEmpty();
            assertThat(afterKill).as("writes refused after kill -9 of the primary").isLessThan(Duration.ofSeconds(10));
            assertThat(switchoverGap).as("writes refused around the switchover").isLessThan(Duration.ofSeconds(10));

            var listed = server.call("GET", POLICIES, server.token("admin-user", "network.admin"), null);
            assertThat(listed.status()).isEqualTo(200);
            Set<String> present = new HashSet<>();
            for (JsonNode p : new ObjectMapper().readTree(listed.body()).get("policies")) {
                present.add(p.get("destination").get("id").asText());
            }
            List<String> missing = writer.acknowledged.stream().map(Write::destination).filter(d -> !present.contains(d)).toList();
            assertThat(missing).as("acknowledged policies missing after the failover and the switchover").isEmpty();
        }
    }

    private static void awaitNewPrimary(PatroniCluster cluster, String old) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (cluster.primary().equals(old)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no failover from " + old + " within 30 s: " + cluster.members());
            }
            Thread.sleep(200);
        }
    }

    record Write(String destination, long at) {}

    /** One operator writing a new policy after another, until stopped. */
    static final class Writer implements AutoCloseable {
        final List<Write> acknowledged = new CopyOnWriteArrayList<>();
        final List<Long> refused = new CopyOnWriteArrayList<>();
        final ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
        private final Thread thread;
        private volatile boolean running = true;

        Writer(PolicyServerHarness server, String token) {
            thread = Thread.ofPlatform().name("policy-writer").start(() -> {
                for (int i = 0; running; i++) {
                    String destination = "app-failover-" + i;
                    String body = "{\"policies\":[{\"source\":{\"id\":\"app-writer\"},\"destination\":{\"id\":\"" + destination
                            + "\",\"protocol\":\"tcp\",\"ports\":{\"start\":8080,\"end\":8080}}}]}";
                    try {
                        var reply = server.call("POST", POLICIES, token, body);
                        if (reply.status() == 200) {
                            acknowledged.add(new Write(destination, System.nanoTime()));
                        } else if (reply.status() == 503 && reply.body().contains("\"error\"")) {
                            refused.add(System.nanoTime());
                            sleep(50);
                        } else {
                            unexpected.add(reply.status() + " " + reply.body());
                        }
                    } catch (Exception e) {
                        // No answer (the request's own timeout): not acknowledged, so not counted.
                        sleep(50);
                    }
                }
            });
        }

        void awaitAcknowledged(int count, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (acknowledged.size() < count) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("only " + acknowledged.size() + " of " + count + " writes acknowledged within "
                            + timeout + "; unexpected answers: " + unexpected);
                }
                sleep(20);
            }
        }

        /** The longest stretch without an acknowledged write, from {@code start} on. */
        Duration longestGapAfter(long start) {
            List<Long> times = new ArrayList<>(List.of(start));
            acknowledged.stream().map(Write::at).filter(t -> t > start).forEach(times::add);
            long longest = 0;
            for (int i = 1; i < times.size(); i++) {
                longest = Math.max(longest, times.get(i) - times.get(i - 1));
            }
            return Duration.ofNanos(longest);
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
