package io.silk.controller.lease;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Makes the free list match the configured pool at start-up. Runs only when the configuration
 * differs from what the database was built for, under a lock, so replicas starting together do
 * the work once. Leases outside a new network are left alone: their cells keep renewing them and
 * move on their next acquire.
 */
@Component
public class SubnetPoolSetup implements InitializingBean {

    private static final Logger log = LoggerFactory.getLogger(SubnetPoolSetup.class);

    private final SubnetPoolRepository pools;
    private final TransactionTemplate tx;
    private final OverlayPool pool;

    public SubnetPoolSetup(SubnetPoolRepository pools, TransactionTemplate tx, LeaseProperties properties) {
        this.pools = pools;
        this.tx = tx;
        this.pool = properties.pool();
    }

    @Override
    public void afterPropertiesSet() {
        String network = pool.network().toString();
        int prefix = pool.subnetPrefix();
        tx.executeWithoutResult(status -> {
            pools.lockPoolDefinition();
            var current = pools.definition();
            if (current.isPresent() && current.get().network().equals(network)
                    && current.get().subnetPrefix() == prefix) {
                return;
            }
            int dropped = pools.dropForeignFreeSubnets(network, prefix);
            int added = pools.fillFreeSubnets(network, prefix, pool.size());
            pools.define(network, prefix);
            pools.analyzeFreeSubnets();
            log.info("subnet pool defined network={} subnet_prefix={} subnets={} free_added={} free_dropped={}",
                    network, prefix, pool.size(), added, dropped);
        });
    }
}
