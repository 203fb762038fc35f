package io.silk.controller.faults;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.AcquireResponse;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.RenewRequest;
import io.silk.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the restore tests do as cells and operators: cells acquire and later renew the subnets they
 * hold, naming the database their lease came from; an operator writes C2C policies.
 */
final class RestoredCells {

    record Held(String cell, String subnet, String mac) {}

    private RestoredCells() {}

    /**
     * {@code count} cells {@code prefix}1.. acquire, retrying while the database is unavailable (a
     * switchover); returns the database id they were told.
     */
    static String acquire(LeaseServiceBlockingStub leases, String prefix, int count, List<Held> into) {
        String databaseId = null;
        for (int i = 1; i <= count; i++) {
            String cell = prefix + i;
            AcquireResponse r = untilServed("acquire for " + cell, () -> leases.withDeadlineAfter(5, TimeUnit.SECONDS)
                    .acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()));
            into.add(new Held(cell, r.getLease().getOverlaySubnet(), r.getLease().getOverlayHardwareAddr()));
            databaseId = r.getDatabaseId();
        }
        return databaseId;
    }

    /** A cell's renew at its pace: UNAVAILABLE while the database is swapped and set up is retried. */
    static Lease renew(LeaseServiceBlockingStub leases, Held h, String databaseId) {
        return untilServed("renew for " + h.cell(), () -> leases.withDeadlineAfter(5, TimeUnit.SECONDS).renew(
                RenewRequest.newBuilder().setDatabaseId(databaseId)
                        .setLease(Lease.newBuilder().setUnderlayIp(h.cell()).setOverlaySubnet(h.subnet()).setOverlayHardwareAddr(h.mac()))
                        .build()).getLease());
    }

    /** A new cell's acquire that must be refused; returns the refusal. */
    static StatusRuntimeException acquireRefused(LeaseServiceBlockingStub leases, String cell) {
        try {
            leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("new cell " + cell + " acquired while the restored database should be fenced");
    }

    /** Creates C2C policies app-(i % 5) → app-(10 + i) on tcp/8080 for i in [from, to). */
    static void createPolicies(TestPostgres.Database db, int from, int to) throws SQLException {
        execute(db, "SELECT create_c2c_policies('" + policiesJson(from, to) + "'::jsonb, NULL)");
    }

    /** Deletes the policies {@link #createPolicies} made for i in [from, to). */
    static void deletePolicies(TestPostgres.Database db, int from, int to) throws SQLException {
        execute(db, "SELECT delete_c2c_policies('" + policiesJson(from, to) + "'::jsonb)");
    }

    private static String policiesJson(int from, int to) {
        StringBuilder json = new StringBuilder("[");
        for (int i = from; i < to; i++) {
            json.append(i == from ? "" : ",").append("{\"source_id\":\"app-").append(i % 5).append("\",\"destination_id\":\"app-")
                    .append(10 + i).append("\",\"protocol\":\"tcp\",\"start_port\":8080,\"end_port\":8080}");
        }
        return json.append(']').toString();
    }

    private static void execute(TestPostgres.Database db, String sql) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** How many of the policies above the database holds. */
    static int policyCount(TestPostgres.Database db) throws SQLException {
        return count(db, "SELECT count(*) FROM policy WHERE destination_id LIKE 'app-%'");
    }

    static int count(TestPostgres.Database db, String sql) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getInt(1);
        }
    }

    private static <T> T untilServed(String what, java.util.function.Supplier<T> call) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return call.get();
            } catch (StatusRuntimeException e) {
                // Only UNAVAILABLE is a pause (a swap, a switchover); anything else is a failure.
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
                    throw new AssertionError(what + ": " + e.getStatus(), e);
                }
                PrimaryFailover.sleep(100);
            }
        }
    }
}
