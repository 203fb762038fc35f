package io.silk.controller.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.testing.PatroniCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The full failover figures ({@code ./dev bench-ha}): lease churn through two controllers on a
 * three-node Patroni cluster, {@code silk.bench.ha-rounds} rounds (default 3) of kill -9 of the
 * primary's node followed by its rejoin, then as many planned switchovers. Prints, per round and as
 * the worst over rounds: the time no write succeeded (target under 10 s for a kill, under 2 s for a
 * switchover), acknowledged leases missing afterwards (target 0), overlapping subnets (0), and
 * whether every watcher ended equal to the table with revisions only going up. Fails when any of
 * these, or a round's time against its target, is missed.
 */
@Tag("benchmark")
class PrimaryFailoverBenchmark {

    static final Duration KILL_TARGET = Duration.ofSeconds(10);
    static final Duration SWITCHOVER_TARGET = Duration.ofSeconds(2);

    @Test
    void killAndSwitchoverUnderChurn() throws Exception {
        int rounds = Integer.getInteger("silk.bench.ha-rounds", 3);
        int clients = Integer.getInteger("silk.bench.ha-clients", 8);
        Path dir = Files.createTempDirectory("silk-ha-bench");
        List<String> failures = new ArrayList<>();
        try (PatroniCluster cluster = PatroniCluster.start(dir); PrimaryFailover churn = new PrimaryFailover(cluster, 2)) {
            Duration worstKill = Duration.ZERO;
            Duration worstSwitchover = Duration.ZERO;
            for (int round = 1; round <= rounds; round++) {
                churn.startChurn(clients);
                PrimaryFailover.sleep(3000);
                String[] old = new String[1];
                PrimaryFailover.Outage kill = churn.fault(() -> old[0] = cluster.killPrimary(PatroniCluster.Fault.NODE),
                        Duration.ofSeconds(60));
                PrimaryFailover.sleep(2000);
                churn.stopChurn();
                PrimaryFailover.Audit audit = churn.audit(Duration.ofSeconds(15));
                report("kill -9 of " + old[0] + ", round " + round, kill, audit, failures);
                worstKill = max(worstKill, kill.untilAcquiresSucceed());
                missed("kill -9, round " + round, kill, KILL_TARGET, failures);
                long rejoinStart = System.nanoTime();
                cluster.rejoin(old[0]);
                cluster.awaitReplica(old[0], Duration.ofSeconds(120));
                System.out.printf("silk: bench-ha: %s rejoined as a replica in %d ms%n", old[0],
                        (System.nanoTime() - rejoinStart) / 1_000_000);
            }
            for (int round = 1; round <= rounds; round++) {
                churn.startChurn(clients);
                PrimaryFailover.sleep(3000);
                PrimaryFailover.Outage switchover = churn.fault(cluster::switchover, Duration.ofSeconds(60));
                PrimaryFailover.sleep(2000);
                churn.stopChurn();
                PrimaryFailover.Audit audit = churn.audit(Duration.ofSeconds(15));
                report("switchover, round " + round, switchover, audit, failures);
                worstSwitchover = max(worstSwitchover, switchover.untilAcquiresSucceed());
                missed("switchover, round " + round, switchover, SWITCHOVER_TARGET, failures);
            }
            System.out.printf("silk: bench-ha: worst over %d rounds: kill -9 %d ms (target < 10000), switchover %d ms (target < 2000);"
                    + " %d writes acknowledged in all%n", rounds, worstKill.toMillis(), worstSwitchover.toMillis(), churn.succeeded());
        }
        assertThat(failures).as("leases lost, overlapping, watchers wrong or a target missed").isEmpty();
    }

    private static void report(String fault, PrimaryFailover.Outage outage, PrimaryFailover.Audit audit, List<String> failures) {
        System.out.printf("silk: bench-ha: %s: %s; held %d, missing %d, wrong subnet %d, overlapping %d,"
                        + " watchers disagreeing %s, revisions monotonic %s, snapshots %d%n",
                fault, outage, audit.acknowledgedHeld(), audit.missing().size(), audit.wrongSubnet().size(),
                audit.overlapping().size(), audit.watchersDisagreeing(), audit.revisionsMonotonic(), audit.snapshotsAfterStart());
        if (!audit.missing().isEmpty() || !audit.wrongSubnet().isEmpty() || !audit.overlapping().isEmpty()
                || !audit.watchersDisagreeing().isEmpty() || !audit.revisionsMonotonic()) {
            failures.add(fault + ": " + audit);
        }
    }

    private static void missed(String fault, PrimaryFailover.Outage outage, Duration target, List<String> failures) {
        if (outage.untilAcquiresSucceed().compareTo(target) >= 0) {
            failures.add(fault + ": no write served for " + outage.untilAcquiresSucceed().toMillis() + " ms, target " + target.toMillis() + " ms");
        }
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
