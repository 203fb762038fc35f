package io.silk.controller.policy;

import io.silk.controller.database.DatabaseReadiness;
import io.silk.db.pool.DedicatedConnector;
import io.silk.controller.feed.ChangeFeed;
import io.silk.controller.feed.EventLogProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The policy log's feed: an instance of the generic event-log machinery (the policy server signals its writes). */
@Configuration(proxyBeanMethods = false)
public class PolicyFeedConfiguration {

    @Bean
    ChangeFeed<PolicyEvent.Key, PolicyEvent> policyFeed(EventLogProperties properties, DedicatedConnector connector,
            DatabaseReadiness readiness) {
        var feed = new ChangeFeed<>(new PolicyEventLog(), properties.replayBuffer(), properties.identityRecheck(), connector);
        feed.onDatabaseReplaced(readiness::setUpAgain);
        return feed;
    }
}
