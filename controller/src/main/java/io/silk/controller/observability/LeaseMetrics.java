package io.silk.controller.observability;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.silk.controller.feed.ChangeFeed;
import io.silk.controller.lease.LeaseEventRecord;
import io.silk.controller.lease.LeaseProperties;
import io.silk.controller.lease.OverlayPool;
import io.silk.values.Ipv4Address;
import java.util.List;
import org.springframework.stereotype.Component;

/** Lease and feed gauges, read from the change feeds' in-memory views (no database query per scrape). */
@Component
public class LeaseMetrics {

    public LeaseMetrics(MeterRegistry registry, ChangeFeed<Ipv4Address, LeaseEventRecord> leases, List<ChangeFeed<?, ?>> feeds,
            LeaseProperties properties) {
        OverlayPool pool = properties.pool();
        Gauge.builder("silk.leases.held", leases, f -> f.latest(all -> all.stream()
                        .filter(e -> e.kind() == LeaseEventRecord.Kind.UPSERTED).count()))
                .description("Routable leases (renewed within their TTL)").register(registry);
        Gauge.builder("silk.leases.expired", leases, f -> f.latest(all -> all.stream()
                        .filter(e -> e.kind() == LeaseEventRecord.Kind.EXPIRED).count()))
                .description("Leases past their TTL whose subnet is still reserved").register(registry);
        Gauge.builder("silk.leases.free", leases, f -> pool.size() - f.latest(all -> all.stream()
                        .filter(e -> pool.offers(e.subnet())).count()))
                .description("Subnets of the pool that no lease holds").register(registry);
        Gauge.builder("silk.leases.pool.size", pool, OverlayPool::size)
                .description("Subnets the configured pool offers").register(registry);
        Gauge.builder("silk.lease.revision", leases, ChangeFeed::revision)
                .description("Last revision this replica's lease feed applied").register(registry);
        Gauge.builder("silk.watch.streams", leases, ChangeFeed::subscriberCount)
                .description("Open lease Watch streams on this replica").register(registry);
        Gauge.builder("silk.lease.feed.connected", leases, f -> f.isConnected() ? 1 : 0)
                .description("1 while the lease feed is listening to the database").register(registry);
        for (ChangeFeed<?, ?> feed : feeds) {
            String name = feed.eventLog().name();
            Gauge.builder("silk.feed.revision", feed, ChangeFeed::revision).tag("log", name)
                    .description("Last revision this replica's feed applied").register(registry);
            Gauge.builder("silk.feed.subscribers", feed, ChangeFeed::subscriberCount).tag("log", name)
                    .description("Open watch streams on this replica").register(registry);
            Gauge.builder("silk.feed.ready", feed, f -> f.ready() ? 1 : 0).tag("log", name)
                    .description("1 once the feed has read its log").register(registry);
        }
    }
}
