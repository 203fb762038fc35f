package io.silk.policy.database;

import com.zaxxer.hikari.HikariConfig;
import io.silk.db.pool.DedicatedConnector;
import io.silk.db.pool.RenewablePool;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.jdbc.autoconfigure.DataSourceProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The policy server's database connections, as the controller's: one pool
 * ({@code spring.datasource.*}, its settings under {@code spring.datasource.hikari.*}) renewed when
 * the database answers again after an outage or a failover, and the change signal's dedicated
 * connection, whose reconnecting tells the pool so.
 */
@Configuration(proxyBeanMethods = false)
public class DatabaseConfiguration {

    /** Bound from spring.datasource.hikari.* after the URL and credentials are set here. */
    @Bean
    @ConfigurationProperties("spring.datasource.hikari")
    HikariConfig hikariConfig(DataSourceProperties database) {
        return RenewablePool.settings("silk-policy-server", database.determineUrl(), database.determineUsername(),
                database.determinePassword());
    }

    @Bean(destroyMethod = "close")
    RenewablePool dataSource(HikariConfig hikariConfig) {
        return new RenewablePool(hikariConfig);
    }

    @Bean
    DedicatedConnector dedicatedConnector(RenewablePool pool) {
        return new DedicatedConnector(pool);
    }
}
