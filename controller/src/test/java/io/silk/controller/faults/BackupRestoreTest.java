package io.silk.controller.faults;

import static io.silk.controller.faults.RestoredCells.acquire;
import static io.silk.controller.faults.RestoredCells.acquireRefused;
import static io.silk.controller.faults.RestoredCells.renew;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.faults.RestoredCells.Held;
import io.silk.controller.testing.ControllerReplica;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.testing.PatroniCluster;
import io.silk.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The documented backup and restore ({@code ./dev ha backup FILE}, {@code ./dev ha restore FILE})
 * on the real Patroni cluster under a running controller: a dump is taken, more cells acquire
 * after it, the dump is restored. Every cell keeps its subnet — those the dump does not know
 * included, since new cells are fenced until renews have put them back — and the policies are
 * those of the dump.
 */
class BackupRestoreTest {

    @Test
    void aRestoredDumpOlderThanSomeLeasesDisplacesNoCellAndKeepsThePolicies() throws Exception {
        Path dir = Files.createTempDirectory("silk-ha-backup");
        try (PatroniCluster cluster = PatroniCluster.start(dir)) {
            var db = new TestPostgres.Database(cluster.jdbcUrl(), cluster.user(), cluster.password());
            try (var replica = ControllerReplica.start(db, "silk.controller.lease.fence-window=30s")) {
                LeaseServiceBlockingStub leases = replica.operatorStub();
                List<Held> cells = new ArrayList<>();
                String databaseId = acquire(leases, "10.5.0.", 20, cells);
                RestoredCells.createPolicies(db, 0, 30);
                Path dump = dir.resolve("silk.dump");
                cluster.backup(dump);
                // Cells that acquire after the backup: the restored table will not know them.
                acquire(leases, "10.5.1.", 10, cells);

                cluster.restore(dump);
                assertRestoredWithoutDisplacing(replica, leases, cells, databaseId, "10.5.");
                assertThat(RestoredCells.policyCount(db)).as("policies after the restore").isEqualTo(30);
            }
        }
    }

    /**
     * A new cell straight after the swap (the restored table lists the later cells' subnets as never
     * used, so they would be its first pick) is refused, set up or not; every cell renews its subnet
     * back; the fence holds until the operator ends it, and then a new cell gets a subnet no cell
     * holds. New cells are named {@code prefix}2.1 and {@code prefix}3.1.
     */
    static void assertRestoredWithoutDisplacing(ControllerReplica replica, LeaseServiceBlockingStub leases, List<Held> cells,
            String databaseId, String prefix) {
        StatusRuntimeException early = acquireRefused(leases, prefix + "3.1");
        assertThat(early.getStatus().getCode()).as("%s", early.getStatus()).isEqualTo(Status.Code.UNAVAILABLE);

        // Every cell renews (at its pace; here at once), naming the database its lease came from.
        for (Held h : cells) {
            Lease renewed = renew(leases, h, databaseId);
            assertThat(renewed.getOverlaySubnet()).as("cell %s keeps its subnet", h.cell()).isEqualTo(h.subnet());
        }
        StatusRuntimeException fenced = acquireRefused(leases, prefix + "2.1");
        assertThat(fenced.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(fenced.getStatus().getDescription()).contains("fenced");
        assertThat(AllocationFenceTest.fence(replica, "GET")).contains("\"active\":true");

        // The operator ends the fence once the cells have renewed and the controller has set the
        // restored database up (before, the endpoint refuses: the fence has not started yet).
        AllocationFenceTest.awaitSetUp(replica);
        AllocationFenceTest.fence(replica, "DELETE");
        String fresh = leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(prefix + "2.1").build()).getLease().getOverlaySubnet();
        Set<String> held = new HashSet<>(cells.stream().map(Held::subnet).toList());
        assertThat(held).hasSize(cells.size()).doesNotContain(fresh);
    }
}
