package io.silk.controller.lease;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The lease pool and its timers (prefix {@code silk.controller.lease}).
 *
 * @param network            the overlay network that subnets are carved from
 * @param subnetPrefix       prefix length of each cell's subnet
 * @param ttl                how long a lease stays routable without a renew
 * @param expirySweepInterval how often a replica looks for leases past their TTL
 * @param eventRetention     how long DELETED events are kept for watches resuming from old revisions
 * @param compactionInterval how often superseded events are pruned
 */
@ConfigurationProperties("silk.controller.lease")
public record LeaseProperties(
        String network,
        Integer subnetPrefix,
        Duration ttl,
        Duration expirySweepInterval,
        Duration eventRetention,
        Duration compactionInterval) {

    public LeaseProperties {
        network = network == null ? "10.255.0.0/16" : network;
        subnetPrefix = subnetPrefix == null ? 24 : subnetPrefix;
        ttl = ttl == null ? Duration.ofHours(168) : ttl;
        expirySweepInterval = expirySweepInterval == null ? Duration.ofSeconds(5) : expirySweepInterval;
        eventRetention = eventRetention == null ? Duration.ofHours(24) : eventRetention;
        compactionInterval = compactionInterval == null ? Duration.ofMinutes(10) : compactionInterval;
    }

    /** The configured pool, validated: fails start-up with a message naming the property. */
    public OverlayPool pool() {
        Cidr net;
        try {
            net = Cidr.parse(network, "silk.controller.lease.network");
        } catch (LeaseRejection e) {
            throw new IllegalStateException(e.getMessage());
        }
        return OverlayPool.of(net, subnetPrefix);
    }
}
