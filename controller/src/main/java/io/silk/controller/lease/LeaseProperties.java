package io.silk.controller.lease;

import io.silk.values.BadValue;
import io.silk.values.Ipv4Network;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The lease pool and its timers (prefix {@code silk.controller.lease}). The defaults here are the
 * only ones; docs/configuration.md describes each key.
 *
 * @param network             the overlay network that subnets are carved from
 * @param subnetPrefix        prefix length of each cell's subnet
 * @param ttl                 how long a lease stays routable without a renew
 * @param expirySweepInterval how often a replica looks for leases past their TTL
 * @param fenceWindow         how long new cells wait after the database turns out to be new under
 *                            running cells ({@link AllocationFence}): at least the longest time
 *                            between two renews of a cell (the daemon's renew interval plus its
 *                            jitter, 30 s + 20 % by default), so every cell re-adopts its subnet first
 */
@ConfigurationProperties("silk.controller.lease")
public record LeaseProperties(
        String network,
        Integer subnetPrefix,
        Duration ttl,
        Duration expirySweepInterval,
        Duration fenceWindow) {

    public LeaseProperties {
        network = network == null ? "10.255.0.0/16" : network;
        subnetPrefix = subnetPrefix == null ? 24 : subnetPrefix;
        ttl = ttl == null ? Duration.ofHours(168) : ttl;
        expirySweepInterval = expirySweepInterval == null ? Duration.ofSeconds(5) : expirySweepInterval;
        fenceWindow = fenceWindow == null ? Duration.ofSeconds(60) : fenceWindow;
        if (fenceWindow.isNegative()) {
            throw new IllegalStateException("silk.controller.lease.fence-window must not be negative: " + fenceWindow);
        }
    }

    /** The configured pool, validated: fails start-up with a message naming the property. */
    public OverlayPool pool() {
        try {
            return OverlayPool.of(Ipv4Network.parse(network, "silk.controller.lease.network"), subnetPrefix);
        } catch (BadValue e) {
            throw new IllegalStateException(e.getMessage());
        }
    }
}
