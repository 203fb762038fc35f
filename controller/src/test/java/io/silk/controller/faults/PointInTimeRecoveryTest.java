package io.silk.controller.faults;

import static io.silk.controller.faults.RestoredCells.acquire;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.controller.faults.RestoredCells.Held;
import io.silk.controller.testing.ControllerReplica;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.testing.PatroniCluster;
import io.silk.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The documented point-in-time recovery on the real Patroni cluster under a running controller
 * ({@code ./dev ha basebackup DIR}, {@code ./dev ha pitr DIR TIME FILE}, {@code ./dev ha restore
 * FILE}): a base backup, cells that acquire after it (found again only by replaying the WAL
 * archive, across a switchover's new timeline), a chosen moment, then a mistake (policies deleted)
 * and more cells. Recovered to that moment and swapped in, the database holds what was there at
 * the moment and nothing after it; the deleted policies are back, and no cell is displaced, those
 * acquired after the moment included.
 */
class PointInTimeRecoveryTest {

    @Test
    void recoveringToAMomentUndoesLaterWritesAndDisplacesNoCell() throws Exception {
        Path dir = Files.createTempDirectory("silk-ha-pitr");
        try (PatroniCluster cluster = PatroniCluster.start(dir)) {
            var db = new TestPostgres.Database(cluster.jdbcUrl(), cluster.user(), cluster.password());
            try (var replica = ControllerReplica.start(db, "silk.controller.lease.fence-window=30s")) {
                LeaseServiceBlockingStub leases = replica.operatorStub();
                List<Held> cells = new ArrayList<>();
                String databaseId = acquire(leases, "10.6.0.", 20, cells);
                RestoredCells.createPolicies(db, 0, 30);
                Path base = dir.resolve("base");
                cluster.baseBackup(base);

                // After the base backup: only the archived WAL knows these cells, part of them from
                // the timeline the switchover starts.
                acquire(leases, "10.6.1.", 5, cells);
                cluster.switchover();
                acquire(leases, "10.6.5.", 5, cells);
                String moment = primaryClock(db);

                // After the moment: the mistake to undo, and cells the recovered database will not know.
                RestoredCells.deletePolicies(db, 0, 10);
                assertThat(RestoredCells.policyCount(db)).isEqualTo(20);
                acquire(leases, "10.6.4.", 10, cells);

                Path dump = dir.resolve("pitr.dump");
                cluster.pointInTime(base, moment, dump);
                cluster.restore(dump);

                assertThat(RestoredCells.count(db, "SELECT count(*) FROM lease WHERE host(underlay_ip) LIKE '10.6.0.%'"
                        + " OR host(underlay_ip) LIKE '10.6.1.%' OR host(underlay_ip) LIKE '10.6.5.%'")).as("leases acquired up to the moment").isEqualTo(30);
                assertThat(RestoredCells.count(db, "SELECT count(*) FROM lease WHERE host(underlay_ip) LIKE '10.6.4.%'"))
                        .as("leases acquired after the moment").isZero();
                assertThat(RestoredCells.policyCount(db)).as("policies at the moment").isEqualTo(30);
                BackupRestoreTest.assertRestoredWithoutDisplacing(replica, leases, cells, databaseId, "10.6.");
            }
        }
    }

    private static String primaryClock(TestPostgres.Database db) throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT clock_timestamp()::text")) {
            r.next();
            return r.getString(1);
        }
    }
}
