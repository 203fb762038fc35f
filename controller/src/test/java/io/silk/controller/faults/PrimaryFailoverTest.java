package io.silk.controller.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.testing.PatroniCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Two controller replicas on a real three-node Patroni cluster (etcd, synchronous replication),
 * with lease churn through both, while the primary is killed with {@code kill -9} and later
 * rejoins as a replica, then while Patroni switches over on purpose. Nothing acknowledged is lost,
 * no two leases overlap, watchers end equal to the table with revisions only going up, and writes
 * come back (within the 10 s target after a kill). The figures at scale, and the check of the 2 s
 * switchover target, are {@code PrimaryFailoverBenchmark}'s.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrimaryFailoverTest {

    static PatroniCluster cluster;
    static PrimaryFailover churn;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("silk-ha");
        cluster = PatroniCluster.start(dir);
        churn = new PrimaryFailover(cluster, 2);
    }

    @AfterAll
    static void stop() {
        if (churn != null) {
            churn.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void aPrimaryKilledUnderChurnLosesNothingAndWritesResumeWithinTenSeconds() throws Exception {
        churn.startChurn(4);
        PrimaryFailover.sleep(2000);
        assertThat(churn.succeeded()).as("churn under way before the fault").isPositive();

        String[] old = new String[1];
        PrimaryFailover.Outage outage = churn.fault(() -> old[0] = cluster.killPrimary(PatroniCluster.Fault.NODE),
                Duration.ofSeconds(30));
        System.out.println("silk: failover (kill -9 of the primary's node): " + outage);
        PrimaryFailover.sleep(2000);
        churn.stopChurn();

        PrimaryFailover.Audit audit = churn.audit(Duration.ofSeconds(10));
        assertThat(outage.untilAcquiresSucceed()).as("no write served after the kill").isLessThan(Duration.ofSeconds(10));
        assertThat(audit.missing()).as("acknowledged leases missing after the failover").isEmpty();
        assertThat(audit.wrongSubnet()).isEmpty();
        assertThat(audit.overlapping()).isEmpty();
        assertThat(audit.watchersDisagreeing()).as("watchers against the table").isEmpty();
        assertThat(audit.revisionsMonotonic()).as("revisions only go up across the failover").isTrue();
        assertThat(audit.snapshotsAfterStart()).as("no watcher had to start over").isZero();

        // The old primary comes back as a replica of the new one.
        cluster.rejoin(old[0]);
        cluster.awaitReplica(old[0], Duration.ofSeconds(60));
        assertThat(cluster.primary()).isNotEqualTo(old[0]);
    }

    @Test
    @Order(2)
    void aPlannedSwitchoverLosesNothingAndWritesResumeAtOnce() throws Exception {
        // The rejoined node streaming and a synchronous standby named: what a switchover needs.
        cluster.awaitHealthy(Duration.ofSeconds(60));
        churn.startChurn(4);
        PrimaryFailover.sleep(1000);
        String before = cluster.primary();
        PrimaryFailover.Outage outage = churn.fault(cluster::switchover, Duration.ofSeconds(30));
        System.out.println("silk: switchover: " + outage);
        PrimaryFailover.sleep(2000);
        churn.stopChurn();

        assertThat(cluster.primary()).isNotEqualTo(before);
        PrimaryFailover.Audit audit = churn.audit(Duration.ofSeconds(10));
        assertThat(audit.missing()).isEmpty();
        assertThat(audit.overlapping()).isEmpty();
        assertThat(audit.watchersDisagreeing()).isEmpty();
        assertThat(audit.revisionsMonotonic()).isTrue();
        // Writes resume at once (the pool drops the demoted server's connections; without that they
        // fail until the fault's 30 s wait runs out). The 2 s target itself, with its thin margin on
        // a shared 2-core machine (1.4 to 1.7 s measured), is the benchmark's: it fails when missed.
        assertThat(outage.untilAcquiresSucceed()).as("no write served during a switchover").isLessThan(Duration.ofSeconds(5));
    }
}
