package io.silk.controller.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.AcquireResponse;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.RenewRequest;
import io.silk.testing.PatroniCluster;
import io.silk.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The documented backup and restore ({@code ./dev ha backup FILE}, {@code ./dev ha restore FILE})
 * on the real Patroni cluster under a running controller: a dump is taken, more cells acquire
 * after it, the dump is restored. Every cell keeps its subnet — those the dump does not know
 * included, since new cells are fenced until renews have put them back — and the policies are
 * those of the dump.
 */
class BackupRestoreTest {

    record Held(String cell, String subnet, String mac) {}

    @Test
    void aRestoredDumpOlderThanSomeLeasesDisplacesNoCellAndKeepsThePolicies() throws Exception {
        Path dir = Files.createTempDirectory("silk-ha-backup");
        try (PatroniCluster cluster = PatroniCluster.start(dir)) {
            var db = new TestPostgres.Database(cluster.jdbcUrl(), cluster.user(), cluster.password());
            try (var replica = ControllerReplica.start(db, "silk.controller.lease.fence-window=30s")) {
                LeaseServiceBlockingStub leases = replica.operatorStub();
                List<Held> cells = new ArrayList<>();
                String databaseId = acquire(leases, "10.5.0.", 20, cells);
                try (Connection c = db.connect(); Statement s = c.createStatement()) {
                    StringBuilder policies = new StringBuilder("[");
                    for (int i = 0; i < 30; i++) {
                        policies.append(i == 0 ? "" : ",").append("{\"source_id\":\"app-").append(i % 5)
                                .append("\",\"destination_id\":\"app-").append(10 + i).append("\",\"protocol\":\"tcp\",\"start_port\":8080,\"end_port\":8080}");
                    }
                    s.execute("SELECT create_c2c_policies('" + policies.append(']') + "'::jsonb, NULL)");
                }
                Path dump = dir.resolve("silk.dump");
                cluster.backup(dump);
                // Cells that acquire after the backup: the restored table will not know them.
                acquire(leases, "10.5.1.", 10, cells);

                cluster.restore(dump);
                // A new cell straight after the swap (the restored table lists the later cells'
                // subnets as never used, so they would be its first pick) is refused, set up or not.
                StatusRuntimeException early = acquireFails(leases, "10.5.3.1");
                assertThat(early.getStatus().getCode()).as("%s", early.getStatus()).isEqualTo(Status.Code.UNAVAILABLE);

                // Every cell renews (at its pace; here at once, retrying while the replica sets the
                // restored database up), naming the database its lease came from.
                for (Held h : cells) {
                    Lease renewed = renewUntilServed(leases, h, databaseId);
                    assertThat(renewed.getOverlaySubnet()).as("cell %s keeps its subnet", h.cell()).isEqualTo(h.subnet());
                }
                StatusRuntimeException fenced = acquireFails(leases, "10.5.2.1");
                assertThat(fenced.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(fenced.getStatus().getDescription()).contains("fenced");
                assertThat(AllocationFenceTest.fence(replica, "GET")).contains("\"active\":true");

                try (Connection c = db.connect(); Statement s = c.createStatement();
                        ResultSet r = s.executeQuery("SELECT count(*) FROM policy WHERE destination_id LIKE 'app-%'")) {
                    r.next();
                    assertThat(r.getInt(1)).as("policies after the restore").isEqualTo(30);
                }

                // The operator ends the fence once the cells have renewed: a new cell gets a subnet no
                // cell holds.
                AllocationFenceTest.fence(replica, "DELETE");
                String fresh = leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.5.2.1").build()).getLease().getOverlaySubnet();
                Set<String> held = new HashSet<>(cells.stream().map(Held::subnet).toList());
                assertThat(held).hasSize(cells.size()).doesNotContain(fresh);
            }
        }
    }

    /** {@code count} cells {@code prefix}1.. acquire; returns the database id they were told. */
    private static String acquire(LeaseServiceBlockingStub leases, String prefix, int count, List<Held> into) {
        String databaseId = null;
        for (int i = 1; i <= count; i++) {
            AcquireResponse r = leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(prefix + i).build());
            into.add(new Held(prefix + i, r.getLease().getOverlaySubnet(), r.getLease().getOverlayHardwareAddr()));
            databaseId = r.getDatabaseId();
        }
        return databaseId;
    }

    private static Lease renewUntilServed(LeaseServiceBlockingStub leases, Held h, String databaseId) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return leases.withDeadlineAfter(5, TimeUnit.SECONDS).renew(RenewRequest.newBuilder().setDatabaseId(databaseId)
                        .setLease(Lease.newBuilder().setUnderlayIp(h.cell()).setOverlaySubnet(h.subnet()).setOverlayHardwareAddr(h.mac()))
                        .build()).getLease();
            } catch (StatusRuntimeException e) {
                // UNAVAILABLE while the database is swapped and set up; anything else is a failure.
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
                    throw e;
                }
                PrimaryFailover.sleep(100);
            }
        }
    }

    private static StatusRuntimeException acquireFails(LeaseServiceBlockingStub leases, String cell) {
        try {
            leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("a new cell acquired while the restored database should be fenced");
    }
}
