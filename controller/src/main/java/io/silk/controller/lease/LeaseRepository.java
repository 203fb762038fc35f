package io.silk.controller.lease;

import java.util.List;
import java.util.Optional;
import org.springframework.data.jdbc.repository.query.Modifying;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/**
 * Every lease write, as native SQL: PostgreSQL does the real work (row locks, SKIP LOCKED, the
 * constraints). Each statement that changes what cells route to writes its event in the same
 * statement, so a change and its event can never be apart. Revisions are drawn last in a
 * transaction, which keeps the window in which a revision is allocated but not yet committed short.
 */
public interface LeaseRepository extends Repository<LeaseRecord, String> {

    String LEASE_COLUMNS = """
            host(underlay_ip) AS underlay_ip, subnet::text AS subnet, vtep_mac::text AS vtep_mac,
            expires_at, expired, revision""";

    String EVENT_COLUMNS = """
            revision, kind, host(underlay_ip) AS underlay_ip, subnet::text AS subnet,
            vtep_mac::text AS vtep_mac, expires_at""";

    /**
     * Assigns the transaction its id before any revision is drawn: the change feed relies on a
     * revision's writer having an xid older than any snapshot taken after a later revision is seen.
     */
    @Query("SELECT pg_current_xact_id()::text")
    String beginWrite();

    @Query("SELECT " + LEASE_COLUMNS + " FROM lease WHERE underlay_ip = CAST(:cell AS inet) FOR UPDATE")
    Optional<LeaseRecord> lockByCell(@Param("cell") String cell);

    @Query("SELECT " + LEASE_COLUMNS + " FROM lease WHERE underlay_ip = CAST(:cell AS inet)")
    Optional<LeaseRecord> findByCell(@Param("cell") String cell);

    /** Takes the first free subnet of the pool: never-used ones first, then the longest free. */
    @Query("""
            DELETE FROM free_subnet WHERE subnet = (
                SELECT subnet FROM free_subnet
                WHERE subnet <<= CAST(:network AS cidr) AND masklen(subnet) = :prefix
                ORDER BY free_since, subnet
                LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING subnet::text""")
    Optional<String> takeFreeSubnet(@Param("network") String network, @Param("prefix") int prefix);

    /** Removes a subnet from the free list when a renew re-inserts a lease for it. */
    @Modifying
    @Query("DELETE FROM free_subnet WHERE subnet = CAST(:subnet AS cidr)")
    int claimFreeSubnet(@Param("subnet") String subnet);

    @Query("WITH l AS ("
            + " INSERT INTO lease (underlay_ip, subnet, vtep_mac, expires_at, revision)"
            + " VALUES (CAST(:cell AS inet), CAST(:subnet AS cidr), CAST(:mac AS macaddr),"
            + "         now() + make_interval(secs => :ttlSeconds), nextval('lease_revision'))"
            + " RETURNING *)"
            + " INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)"
            + " SELECT revision, 'UPSERTED', underlay_ip, subnet, vtep_mac, expires_at FROM l"
            + " RETURNING " + EVENT_COLUMNS)
    LeaseEventRecord insert(@Param("cell") String cell, @Param("subnet") String subnet,
            @Param("mac") String mac, @Param("ttlSeconds") double ttlSeconds);

    /** A renew of a live lease: no event, since nothing a cell routes by has changed. */
    @Query("UPDATE lease SET renewed_at = now(), expires_at = now() + make_interval(secs => :ttlSeconds)"
            + " WHERE underlay_ip = CAST(:cell AS inet) RETURNING " + LEASE_COLUMNS)
    LeaseRecord touch(@Param("cell") String cell, @Param("ttlSeconds") double ttlSeconds);

    /** A renew of an expired lease: routable again, so an event. */
    @Query("WITH l AS ("
            + " UPDATE lease SET renewed_at = now(), expires_at = now() + make_interval(secs => :ttlSeconds),"
            + "   expired = false, revision = nextval('lease_revision')"
            + " WHERE underlay_ip = CAST(:cell AS inet) RETURNING *)"
            + " INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)"
            + " SELECT revision, 'UPSERTED', underlay_ip, subnet, vtep_mac, expires_at FROM l"
            + " RETURNING " + EVENT_COLUMNS)
    LeaseEventRecord revive(@Param("cell") String cell, @Param("ttlSeconds") double ttlSeconds);

    /** Deletes the lease that expired first, if any, so its subnet can go to another cell. */
    @Query("WITH victim AS ("
            + " SELECT underlay_ip FROM lease"
            + " WHERE expires_at < now() AND subnet <<= CAST(:network AS cidr) AND masklen(subnet) = :prefix"
            + " ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED),"
            + " l AS (DELETE FROM lease WHERE underlay_ip = (SELECT underlay_ip FROM victim) RETURNING *)"
            + " INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)"
            + " SELECT nextval('lease_revision'), 'DELETED', underlay_ip, subnet, vtep_mac, expires_at FROM l"
            + " RETURNING " + EVENT_COLUMNS)
    Optional<LeaseEventRecord> reclaimOldestExpired(@Param("network") String network, @Param("prefix") int prefix);

    /**
     * Marks leases past their TTL as expired and writes one EXPIRED event each. Replicas may run
     * this at once: the row lock and the re-checked {@code NOT expired} make each expiry happen once.
     */
    @Query("WITH l AS ("
            + " UPDATE lease SET expired = true, revision = nextval('lease_revision')"
            + " WHERE expires_at < now() AND NOT expired RETURNING *)"
            + " INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)"
            + " SELECT revision, 'EXPIRED', underlay_ip, subnet, vtep_mac, expires_at FROM l"
            + " RETURNING " + EVENT_COLUMNS)
    List<LeaseEventRecord> expireDue();
}
