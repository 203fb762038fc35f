package io.silk.controller.lease;

import io.silk.controller.database.DatabaseSetup;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Makes the free list match the configured pool once the database answers. Does the work only when
 * the configuration differs from what the database was built for, under a lock, so replicas
 * starting together do it once. Leases outside a new network are left alone: their cells keep
 * renewing them and move on their next acquire.
 */
@Component
public class SubnetPoolSetup implements DatabaseSetup {

    private static final Logger log = LoggerFactory.getLogger(SubnetPoolSetup.class);

    /** Serialises pool rebuilds across replicas starting at once. */
    private static final String LOCK = "SELECT pg_advisory_xact_lock(hashtext('silk.subnet_pool'))";
    private static final String DEFINED = "SELECT count(*) FROM subnet_pool WHERE id = 1 AND network = CAST(? AS cidr) AND subnet_prefix = ?";
    private static final String DEFINE = """
            INSERT INTO subnet_pool (id, network, subnet_prefix, updated_at)
            VALUES (1, CAST(? AS cidr), ?, now())
            ON CONFLICT (id) DO UPDATE SET network = EXCLUDED.network, subnet_prefix = EXCLUDED.subnet_prefix, updated_at = now()""";
    /**
     * Drops free subnets that the new pool does not offer: outside it, of another prefix, or its subnet 0
     * (the single-IP block), which an earlier, larger network may have listed as free.
     */
    private static final String DROP_FOREIGN = """
            DELETE FROM free_subnet
            WHERE NOT (subnet <<= CAST(? AS cidr) AND masklen(subnet) = ?) OR subnet = set_masklen(CAST(? AS cidr), ?)""";
    /**
     * Fills the free list with every subnet of the pool (except subnet 0) that no lease overlaps.
     * One statement for the whole pool: 65,535 rows take well under a second.
     */
    private static final String FILL = """
            INSERT INTO free_subnet (subnet)
            SELECT s.subnet FROM (
                SELECT set_masklen(CAST(? AS inet) + (i << (32 - ?)), ?)::cidr AS subnet
                FROM generate_series(1::bigint, ?) AS i) s
            WHERE NOT EXISTS (SELECT 1 FROM lease l WHERE l.subnet && s.subnet)
            ON CONFLICT DO NOTHING""";

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final OverlayPool pool;

    public SubnetPoolSetup(DataSource dataSource, TransactionTemplate tx, LeaseProperties properties) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.tx = tx;
        this.pool = properties.pool();
    }

    @Override
    public void run(boolean replacement) {
        String network = pool.network().toString();
        int prefix = pool.subnetPrefix();
        tx.executeWithoutResult(status -> {
            jdbc.execute(LOCK);
            Long defined = jdbc.queryForObject(DEFINED, Long.class, network, prefix);
            if (defined != null && defined > 0) {
                return;
            }
            int dropped = jdbc.update(DROP_FOREIGN, network, prefix, network, prefix);
            int added = jdbc.update(FILL, network, prefix, prefix, pool.size());
            jdbc.update(DEFINE, network, prefix);
            // Without statistics the planner may sort the whole pool to pick one subnet (tens of
            // ms) until autovacuum gets round to analysing it.
            jdbc.execute("ANALYZE free_subnet");
            log.atInfo().setMessage("subnet pool defined").addKeyValue("network", network).addKeyValue("subnet_prefix", prefix)
                    .addKeyValue("subnets", pool.size()).addKeyValue("free_added", added).addKeyValue("free_dropped", dropped).log();
        });
    }
}
