package io.silk.controller.lease;

import io.silk.controller.database.DatabaseIdentity;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
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
 * Every lease statement, on plain JDBC (under lease churn Spring Data's per-call machinery cost the
 * controller more CPU than the statements cost the database). PostgreSQL does the real work: row
 * locks, {@code SKIP LOCKED}, the constraints that keep one subnet per cell and one cell per subnet.
 *
 * <p>Every statement that changes what cells route to appends its event in the same statement
 * through {@code append_lease_event} (the migrations), the one owner of the rule that a writer
 * takes its transaction id before it draws a revision; the VTEP MAC comes from {@code vtep_mac()}.
 * The append function is only ever called on rows the statement already holds (deleted, locked
 * or inserted by it): called from an UPDATE's SET on a row another transaction changes first, it
 * would run once for the stale row and once for the fresh one, and write its event twice.
 * Outside a transaction each statement runs in autocommit; inside one it joins it.
 */
@Component
public class LeaseStore {

    private static final String COLUMNS = "host(underlay_ip), subnet::text, vtep_mac::text, expires_at, expired, revision";

    /**
     * A cell holding no lease takes the first free subnet: never-used ones first, then the longest
     * free. Nothing when the cell holds a lease, nothing is free or allocation is fenced
     * ({@link AllocationFence}; the caller takes the general path); two acquires for one new cell
     * meet on the primary key.
     */
    private static final String ACQUIRE_FREE = """
            WITH s AS (
                DELETE FROM free_subnet WHERE subnet = (
                    SELECT subnet FROM free_subnet
                    WHERE subnet <<= CAST(? AS cidr) AND masklen(subnet) = ?
                    ORDER BY free_since, subnet
                    LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND NOT EXISTS (SELECT 1 FROM lease WHERE underlay_ip = CAST(? AS inet))
                  AND NOT EXISTS (SELECT 1 FROM database_identity WHERE fenced_until > now() OR %s)
                RETURNING subnet),
            t AS (SELECT subnet, vtep_mac(subnet) AS mac, now() + make_interval(secs => ?) AS expires_at FROM s)
            INSERT INTO lease (underlay_ip, subnet, vtep_mac, expires_at, revision)
            SELECT CAST(? AS inet), t.subnet, t.mac, t.expires_at,
                   append_lease_event('UPSERTED', CAST(? AS inet), t.subnet, t.mac, t.expires_at)
            FROM t
            RETURNING\s""".formatted(DatabaseIdentity.COPIED) + COLUMNS;

    /** The cell's live lease on the subnet it names; nothing otherwise (expired, unknown, another subnet). No event. */
    private static final String RENEW_LIVE = "UPDATE lease SET renewed_at = now(), expires_at = now() + make_interval(secs => ?)"
            + " WHERE underlay_ip = CAST(? AS inet) AND subnet = CAST(? AS cidr) AND NOT expired"
            + " RETURNING " + COLUMNS;

    /** Deletes the cell's lease and gives its subnet back if the pool as now defined offers it. */
    private static final String RELEASE = """
            WITH l AS (DELETE FROM lease WHERE underlay_ip = CAST(? AS inet) RETURNING *),
            freed AS (
                INSERT INTO free_subnet (subnet, free_since)
                SELECT l.subnet, now() FROM l, subnet_pool p
                WHERE l.subnet <<= p.network AND masklen(l.subnet) = p.subnet_prefix
                  AND l.subnet <> set_masklen(p.network, p.subnet_prefix)
                ON CONFLICT DO NOTHING)
            SELECT host(underlay_ip), subnet::text, vtep_mac::text, expires_at, expired,
                   append_lease_event('DELETED', underlay_ip, subnet, vtep_mac, expires_at)
            FROM l""";

    private static final String LOCK_BY_CELL = "SELECT " + COLUMNS + " FROM lease WHERE underlay_ip = CAST(? AS inet) FOR UPDATE";

    private static final String TAKE_FREE_SUBNET = """
            DELETE FROM free_subnet WHERE subnet = (
                SELECT subnet FROM free_subnet
                WHERE subnet <<= CAST(? AS cidr) AND masklen(subnet) = ?
                ORDER BY free_since, subnet
                LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING subnet::text""";

    /**
     * Serialises the writers of single overlay IPs (acquires, adopting renews), in a transaction: single
     * IPs have no free list, so two writers could pick one address; they are rare (routers).
     */
    private static final String LOCK_SINGLE_IPS = "SELECT pg_advisory_xact_lock(hashtext('silk.single_ip'))";

    /**
     * The lowest address of the single-IP block, .1 upward, that no lease overlaps (a lease from an
     * earlier configuration may cover some of the block; it is never displaced):
     * each candidate one probe of the lease index, so the cost grows with the single IPs taken, not
     * with the cells.
     */
    private static final String FREE_SINGLE_IP = """
            SELECT set_masklen(CAST(? AS inet) + i, 32)::cidr::text FROM generate_series(1::bigint, ?) AS i
            WHERE NOT EXISTS (SELECT 1 FROM lease l WHERE l.subnet && set_masklen(CAST(? AS inet) + i, 32)::cidr)
            ORDER BY i LIMIT 1""";

    private static final String CLAIM_FREE_SUBNET = "DELETE FROM free_subnet WHERE subnet = CAST(? AS cidr)";

    /**
     * Taken (shared) by a renew that re-inserts a lease, against SubnetPoolSetup's exclusive hold on
     * the same key while it fills the free list: a fill that began before the renew's lease was
     * committed did not see it and listed its subnet as free, and every acquire that took that row
     * then failed on the overlap (found with renews re-adopting into a recreated database).
     */
    private static final String LOCK_POOL_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtext('silk.subnet_pool'))";

    private static final String INSERT = """
            WITH t AS (SELECT CAST(? AS inet) AS cell, CAST(? AS cidr) AS subnet, now() + make_interval(secs => ?) AS expires_at)
            INSERT INTO lease (underlay_ip, subnet, vtep_mac, expires_at, revision)
            SELECT t.cell, t.subnet, vtep_mac(t.subnet), t.expires_at,
                   append_lease_event('UPSERTED', t.cell, t.subnet, vtep_mac(t.subnet), t.expires_at)
            FROM t
            RETURNING\s""" + COLUMNS;

    /** Renew of a locked live lease: nothing a cell routes by has changed, so no event. */
    private static final String TOUCH = "UPDATE lease SET renewed_at = now(), expires_at = now() + make_interval(secs => ?)"
            + " WHERE underlay_ip = CAST(? AS inet) RETURNING " + COLUMNS;

    /** Renew of a locked expired lease: routable again, so an event. */
    private static final String REVIVE = """
            UPDATE lease SET renewed_at = now(), expires_at = now() + make_interval(secs => ?), expired = false,
                revision = append_lease_event('UPSERTED', underlay_ip, subnet, vtep_mac, now() + make_interval(secs => ?))
            WHERE underlay_ip = CAST(? AS inet)
            RETURNING\s""" + COLUMNS;

    /**
     * Deletes the lease that expired first among those of one prefix inside a range, if any, so that
     * its subnet can go to another cell. Never the range's first (subnet 0 of the network, which is
     * for single IPs; the single-IP block's network address), which a lease can hold only from an
     * earlier configuration.
     */
    private static final String RECLAIM_OLDEST_EXPIRED = """
            WITH victim AS (
                SELECT underlay_ip FROM lease
                WHERE expires_at < now() AND subnet <<= CAST(? AS cidr) AND masklen(subnet) = ?
                  AND subnet <> set_masklen(CAST(? AS cidr), ?)
                ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED),
            l AS (DELETE FROM lease WHERE underlay_ip = (SELECT underlay_ip FROM victim) RETURNING *)
            SELECT host(underlay_ip), subnet::text, vtep_mac::text, expires_at, expired,
                   append_lease_event('DELETED', underlay_ip, subnet, vtep_mac, expires_at)
            FROM l""";

    /**
     * Marks leases past their TTL as expired, one EXPIRED event each. Replicas may run this at
     * once: each locks what it expires first and skips what another holds.
     */
    private static final String EXPIRE_DUE = """
            WITH due AS (
                SELECT underlay_ip FROM lease WHERE expires_at < now() AND NOT expired
                ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED)
            UPDATE lease l SET expired = true,
                revision = append_lease_event('EXPIRED', l.underlay_ip, l.subnet, l.vtep_mac, l.expires_at)
            FROM due WHERE l.underlay_ip = due.underlay_ip
            RETURNING host(l.underlay_ip), l.subnet::text, l.vtep_mac::text, l.expires_at, l.expired, l.revision""";

    private static final RowMapper<LeaseRecord> LEASE = (rs, n) -> read(rs);

    private final JdbcTemplate jdbc;

    public LeaseStore(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
    }

    public Optional<LeaseRecord> acquireFree(Ipv4Address cell, OverlayPool pool, double ttlSeconds) {
        String c = cell.toString();
        return first(jdbc.query(ACQUIRE_FREE, LEASE, pool.network().toString(), pool.subnetPrefix(), c, ttlSeconds, c, c));
    }

    public Optional<LeaseRecord> renewLive(Ipv4Address cell, Ipv4Network subnet, double ttlSeconds) {
        return first(jdbc.query(RENEW_LIVE, LEASE, ttlSeconds, cell.toString(), subnet.toString()));
    }

    /** The released lease, with the revision of its DELETED event. */
    public Optional<LeaseRecord> release(Ipv4Address cell) {
        return first(jdbc.query(RELEASE, LEASE, cell.toString()));
    }

    /** In a transaction: the cell's lease, locked until the transaction ends. */
    public Optional<LeaseRecord> lockByCell(Ipv4Address cell) {
        return first(jdbc.query(LOCK_BY_CELL, LEASE, cell.toString()));
    }

    public Optional<Ipv4Network> takeFreeSubnet(OverlayPool pool) {
        return first(jdbc.query(TAKE_FREE_SUBNET, (rs, n) -> Ipv4Network.parse(rs.getString(1), "free subnet"),
                pool.network().toString(), pool.subnetPrefix()));
    }

    /** In a transaction: waits for, then holds until it ends, the right to write single overlay IPs. */
    public void lockSingleIps() {
        jdbc.execute(LOCK_SINGLE_IPS);
    }

    /** Under {@link #lockSingleIps}: the lowest single overlay IP no lease holds, if any. */
    public Optional<Ipv4Network> freeSingleIp(OverlayPool pool) {
        String base = pool.network().base().toString();
        return first(jdbc.query(FREE_SINGLE_IP, (rs, n) -> Ipv4Network.parse(rs.getString(1), "single IP"),
                base, pool.singleIpCount(), base));
    }

    /** In a transaction: removes a subnet from the free list when a renew re-inserts a lease for it. */
    public void claimFreeSubnet(Ipv4Network subnet) {
        jdbc.execute(LOCK_POOL_SHARED);
        jdbc.update(CLAIM_FREE_SUBNET, subnet.toString());
    }

    public LeaseRecord insert(Ipv4Address cell, Ipv4Network subnet, double ttlSeconds) {
        return jdbc.query(INSERT, LEASE, cell.toString(), subnet.toString(), ttlSeconds).getFirst();
    }

    /** In a transaction, on a lease locked by {@link #lockByCell}. */
    public LeaseRecord touch(Ipv4Address cell, double ttlSeconds) {
        return jdbc.query(TOUCH, LEASE, ttlSeconds, cell.toString()).getFirst();
    }

    /** In a transaction, on a lease locked by {@link #lockByCell}. */
    public LeaseRecord revive(Ipv4Address cell, double ttlSeconds) {
        return jdbc.query(REVIVE, LEASE, ttlSeconds, ttlSeconds, cell.toString()).getFirst();
    }

    /** The reclaimed lease of a cell (a subnet of the pool), with the revision of its DELETED event. */
    public Optional<LeaseRecord> reclaimOldestExpired(OverlayPool pool) {
        return reclaimOldestExpired(pool.network(), pool.subnetPrefix());
    }

    /** The reclaimed single overlay IP, with the revision of its DELETED event. */
    public Optional<LeaseRecord> reclaimOldestExpiredSingleIp(OverlayPool pool) {
        return reclaimOldestExpired(pool.singleIpBlock(), 32);
    }

    private Optional<LeaseRecord> reclaimOldestExpired(Ipv4Network within, int prefix) {
        String range = within.toString();
        return first(jdbc.query(RECLAIM_OLDEST_EXPIRED, LEASE, range, prefix, range, prefix));
    }

    /** Expires up to {@code limit} leases past their TTL; each with the revision of its EXPIRED event. */
    public List<LeaseRecord> expireDue(int limit) {
        return jdbc.query(EXPIRE_DUE, LEASE, limit);
    }

    static LeaseRecord read(ResultSet rs) throws SQLException {
        return new LeaseRecord(Ipv4Address.parse(rs.getString(1), "underlay_ip"), Ipv4Network.parse(rs.getString(2), "subnet"),
                MacAddress.parse(rs.getString(3), "vtep_mac"), rs.getObject(4, OffsetDateTime.class).toInstant(),
                rs.getBoolean(5), rs.getLong(6));
    }

    private static <T> Optional<T> first(List<T> rows) {
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
    }
}
