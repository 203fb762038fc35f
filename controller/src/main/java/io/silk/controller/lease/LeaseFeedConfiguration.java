package io.silk.controller.lease;

import io.silk.controller.database.DatabaseReadiness;
import io.silk.db.pool.DedicatedConnector;
import io.silk.controller.feed.ChangeFeed;
import io.silk.controller.feed.EventLogProperties;
import io.silk.db.ChangeSignal;
import io.silk.values.Ipv4Address;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The lease log's feed and signal: an instance of the generic event-log machinery. */
@Configuration(proxyBeanMethods = false)
public class LeaseFeedConfiguration {

    @Bean
    ChangeFeed<Ipv4Address, LeaseEventRecord> leaseFeed(EventLogProperties properties, DedicatedConnector connector,
            DatabaseReadiness readiness) {
        var feed = new ChangeFeed<>(new LeaseEventLog(), properties.replayBuffer(), properties.identityRecheck(), connector);
        feed.onDatabaseReplaced(readiness::setUpAgain);
        return feed;
    }

    @Bean(initMethod = "start", destroyMethod = "close")
    ChangeSignal leaseChangeSignal(DedicatedConnector connector) {
        return new ChangeSignal(LeaseEventLog.CHANNEL, connector);
    }
}
