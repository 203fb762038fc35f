package io.silk.load;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * The after-run check, in the database itself rather than through the API: no two leases
 * overlap, and the leases a run expects to survive are all there.
 */
record LeaseTable(long leases, long overlapping, long matching) {

    /** Counts all leases, overlapping pairs, and the leases whose cell starts with {@code cellPrefix}. */
    static LeaseTable read(String databaseUrl, String cellPrefix) {
        try (Connection db = DriverManager.getConnection(databaseUrl); Statement s = db.createStatement()) {
            long leases = count(s, "SELECT count(*) FROM lease");
            // && is "overlaps": stronger than "equal subnets", and served by the exclusion constraint's index.
            long overlapping = count(s, "SELECT count(*) FROM lease a JOIN lease b"
                    + " ON a.subnet && b.subnet AND a.underlay_ip < b.underlay_ip");
            long matching = count(s, "SELECT count(*) FROM lease WHERE host(underlay_ip) LIKE '"
                    + cellPrefix.replace("'", "") + "%'");
            return new LeaseTable(leases, overlapping, matching);
        } catch (Exception e) {
            throw new IllegalStateException("after-run check: read the lease table at " + databaseUrl + ": " + e.getMessage(), e);
        }
    }

    private static long count(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Throws unless no lease overlaps another and exactly {@code expected} leases match the prefix. */
    LeaseTable require(long expected, String what) {
        if (overlapping != 0) {
            throw new AssertionError("after the run " + overlapping + " pairs of leases overlap in the database");
        }
        if (matching != expected) {
            throw new AssertionError("after the run the database holds " + matching + " " + what + ", expected " + expected);
        }
        System.out.println("silk: after the run the database holds " + leases + " leases, none overlapping, all "
                + expected + " " + what + " present");
        return this;
    }
}
