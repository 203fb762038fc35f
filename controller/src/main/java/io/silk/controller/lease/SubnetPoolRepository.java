package io.silk.controller.lease;

import java.util.Optional;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.query.Modifying;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** The pool definition and the free list built from it; event-log housekeeping. */
public interface SubnetPoolRepository extends Repository<SubnetPoolRepository.PoolRecord, Integer> {

    @Table("subnet_pool")
    record PoolRecord(@Id Integer id, String network, Integer subnetPrefix) {}

    /** Serialises pool rebuilds across replicas starting at once. */
    @Query("SELECT pg_advisory_xact_lock(hashtext('silk.subnet_pool'))::text")
    String lockPoolDefinition();

    @Query("SELECT id, network::text AS network, subnet_prefix FROM subnet_pool WHERE id = 1")
    Optional<PoolRecord> definition();

    @Modifying
    @Query("""
            INSERT INTO subnet_pool (id, network, subnet_prefix, updated_at)
            VALUES (1, CAST(:network AS cidr), :prefix, now())
            ON CONFLICT (id) DO UPDATE SET network = EXCLUDED.network,
                subnet_prefix = EXCLUDED.subnet_prefix, updated_at = now()""")
    int define(@Param("network") String network, @Param("prefix") int prefix);

    /** Drops free subnets that the new pool does not offer. */
    @Modifying
    @Query("""
            DELETE FROM free_subnet
            WHERE NOT (subnet <<= CAST(:network AS cidr) AND masklen(subnet) = :prefix)""")
    int dropForeignFreeSubnets(@Param("network") String network, @Param("prefix") int prefix);

    /**
     * Fills the free list with every subnet of the pool (except subnet 0) that no lease overlaps.
     * One statement for the whole pool: 65,535 rows take well under a second.
     */
    @Modifying
    @Query("""
            INSERT INTO free_subnet (subnet)
            SELECT s.subnet FROM (
                SELECT set_masklen(CAST(:network AS inet) + (i << (32 - :prefix)), :prefix)::cidr AS subnet
                FROM generate_series(1::bigint, :count) AS i) s
            WHERE NOT EXISTS (SELECT 1 FROM lease l WHERE l.subnet && s.subnet)
            ON CONFLICT DO NOTHING""")
    int fillFreeSubnets(@Param("network") String network, @Param("prefix") int prefix, @Param("count") long count);

    /**
     * Statistics for the freshly filled free list. Without them the planner may sort the whole
     * pool to pick one subnet (tens of ms) until autovacuum gets round to analysing it.
     */
    @Modifying
    @Query("ANALYZE free_subnet")
    void analyzeFreeSubnets();

    /** Only one replica compacts at a time; the others skip. */
    @Query("SELECT pg_try_advisory_xact_lock(hashtext('silk.lease_event.compaction'))")
    boolean tryLockCompaction();

    /** Drops events that a later event for the same cell supersedes, once they are old enough. */
    @Modifying
    @Query("""
            DELETE FROM lease_event e USING lease_event newer
            WHERE newer.underlay_ip = e.underlay_ip AND newer.revision > e.revision
              AND e.occurred_at < now() - make_interval(secs => :keepSeconds)""")
    int dropSupersededEvents(@Param("keepSeconds") double keepSeconds);

    /** Drops DELETED events past retention and raises the horizon above them. */
    @Modifying
    @Query("""
            WITH gone AS (
                DELETE FROM lease_event
                WHERE kind = 'DELETED' AND occurred_at < now() - make_interval(secs => :retentionSeconds)
                RETURNING revision)
            UPDATE lease_event_horizon SET revision = GREATEST(revision, (SELECT max(revision) FROM gone))
            WHERE id = 1 AND EXISTS (SELECT 1 FROM gone)""")
    int dropOldTombstones(@Param("retentionSeconds") double retentionSeconds);
}
