package io.silk.controller.lease;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;

/**
 * The statements every cell runs — acquire of a free subnet, renew of a live lease, release —
 * each one statement, so one round trip in autocommit, on plain JDBC: under lease churn Spring
 * Data's query-method machinery cost the controller more CPU than these statements cost the
 * database. Inside a transaction they join it (JdbcTemplate is transaction-aware). The rarer
 * paths stay in {@link LeaseRepository}.
 */
@Component
public class LeaseStatements {

    private static final String EVENT_COLUMNS =
            "revision, kind, host(underlay_ip), subnet::text, vtep_mac::text, expires_at";
    private static final String LEASE_COLUMNS =
            "host(underlay_ip), subnet::text, vtep_mac::text, expires_at, expired, revision";

    /**
     * A cell holding no lease takes the first free subnet. Nothing when the cell holds a lease or
     * nothing is free (the caller then takes the general path); two acquires for one new cell
     * meet on the primary key. The DELETE gives the transaction its xid before nextval runs (it
     * feeds the INSERT), as the change feed requires. The VTEP MAC is ee:ee: and the subnet's
     * address, as {@link Cidr#vtepMac}.
     */
    private static final String ACQUIRE_FREE = """
            WITH s AS (
                DELETE FROM free_subnet WHERE subnet = (
                    SELECT subnet FROM free_subnet
                    WHERE subnet <<= CAST(? AS cidr) AND masklen(subnet) = ?
                    ORDER BY free_since, subnet
                    LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND NOT EXISTS (SELECT 1 FROM lease WHERE underlay_ip = CAST(? AS inet))
                RETURNING subnet),
            l AS (
                INSERT INTO lease (underlay_ip, subnet, vtep_mac, expires_at, revision)
                SELECT CAST(? AS inet), s.subnet,
                       CAST('eeee' || lpad(to_hex(s.subnet - CAST('0.0.0.0' AS inet)), 8, '0') AS macaddr),
                       now() + make_interval(secs => ?), nextval('lease_revision')
                FROM s
                RETURNING *)
            INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)
            SELECT revision, 'UPSERTED', underlay_ip, subnet, vtep_mac, expires_at FROM l
            RETURNING\s""" + EVENT_COLUMNS;

    /** The cell's live lease on the subnet it names; nothing otherwise (expired, unknown, another subnet). */
    private static final String RENEW_LIVE = "UPDATE lease SET renewed_at = now(), expires_at = now() + make_interval(secs => ?)"
            + " WHERE underlay_ip = CAST(? AS inet) AND subnet = CAST(? AS cidr) AND NOT expired"
            + " RETURNING " + LEASE_COLUMNS;

    /**
     * Deletes the cell's lease, gives its subnet back to the free list if the pool as now defined
     * offers it (subnet 0 and other networks' subnets stay out), and writes the event. The DELETE
     * gives the transaction its xid before nextval draws the revision.
     */
    private static final String RELEASE = "WITH l AS (DELETE FROM lease WHERE underlay_ip = CAST(? AS inet) RETURNING *),"
            + " freed AS ("
            + "   INSERT INTO free_subnet (subnet, free_since)"
            + "   SELECT l.subnet, now() FROM l, subnet_pool p"
            + "   WHERE l.subnet <<= p.network AND masklen(l.subnet) = p.subnet_prefix"
            + "     AND l.subnet <> set_masklen(p.network, p.subnet_prefix)"
            + "   ON CONFLICT DO NOTHING)"
            + " INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)"
            + " SELECT nextval('lease_revision'), 'DELETED', underlay_ip, subnet, vtep_mac, expires_at FROM l"
            + " RETURNING " + EVENT_COLUMNS;

    private static final RowMapper<LeaseEventRecord> EVENT = (rs, n) -> new LeaseEventRecord(rs.getLong(1), rs.getString(2),
            rs.getString(3), rs.getString(4), rs.getString(5), instant(rs, 6));
    private static final RowMapper<LeaseRecord> LEASE = (rs, n) -> new LeaseRecord(rs.getString(1), rs.getString(2),
            rs.getString(3), instant(rs, 4), rs.getBoolean(5), rs.getLong(6));

    private final JdbcTemplate jdbc;

    public LeaseStatements(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
    }

    public Optional<LeaseEventRecord> acquireFree(String cell, String network, int prefix, double ttlSeconds) {
        return first(jdbc.query(ACQUIRE_FREE, EVENT, network, prefix, cell, cell, ttlSeconds));
    }

    public Optional<LeaseRecord> renewLive(String cell, String subnet, double ttlSeconds) {
        return first(jdbc.query(RENEW_LIVE, LEASE, ttlSeconds, cell, subnet));
    }

    public Optional<LeaseEventRecord> release(String cell) {
        return first(jdbc.query(RELEASE, EVENT, cell));
    }

    private static <T> Optional<T> first(List<T> rows) {
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
    }

    private static java.time.Instant instant(ResultSet rs, int column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }
}
