package io.silk.controller.observability;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.silk.controller.lease.Cidr;
import io.silk.controller.lease.LeaseProperties;
import io.silk.controller.lease.OverlayPool;
import io.silk.controller.watch.LeaseChangeFeed;
import org.springframework.stereotype.Component;

/** Lease gauges, read from the change feed's in-memory view (no database query per scrape). */
@Component
public class LeaseMetrics {

    public LeaseMetrics(MeterRegistry registry, LeaseChangeFeed feed, LeaseProperties properties) {
        OverlayPool pool = properties.pool();
        Gauge.builder("silk.leases.held", feed, f -> f.counts()[0])
                .description("Routable leases (renewed within their TTL)").register(registry);
        Gauge.builder("silk.leases.expired", feed, f -> f.counts()[1])
                .description("Leases past their TTL whose subnet is still reserved").register(registry);
        Gauge.builder("silk.leases.free", feed, f -> pool.size() - f.knownSubnets().stream()
                        .filter(s -> pool.offers(Cidr.parse(s, "subnet"))).count())
                .description("Subnets of the pool that no lease holds").register(registry);
        Gauge.builder("silk.leases.pool.size", pool, OverlayPool::size)
                .description("Subnets the configured pool offers").register(registry);
        Gauge.builder("silk.lease.revision", feed, LeaseChangeFeed::revision)
                .description("Last revision this replica's change feed applied").register(registry);
        Gauge.builder("silk.watch.streams", feed, LeaseChangeFeed::subscriberCount)
                .description("Open Watch streams on this replica").register(registry);
        Gauge.builder("silk.lease.feed.connected", feed, f -> f.isConnected() ? 1 : 0)
                .description("1 while the change feed is listening to the database").register(registry);
    }
}
