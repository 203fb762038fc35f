package io.silk.policy.log;

import io.silk.db.ChangeSignal;
import io.silk.db.pool.DedicatedConnector;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The signal that wakes the controllers' policy feeds after writes commit: one NOTIFY on the
 * policy log's channel for all the writes since the last one, on a connection of its own (not
 * the pool's: it is held for good).
 */
@Configuration(proxyBeanMethods = false)
public class PolicyLogConfiguration {

    /** The controllers listen on this channel (their PolicyEventLog). */
    public static final String CHANNEL = "silk_policy_events";

    @Bean(initMethod = "start", destroyMethod = "close")
    ChangeSignal policyChangeSignal(DedicatedConnector connector) {
        return new ChangeSignal(CHANNEL, connector);
    }
}
