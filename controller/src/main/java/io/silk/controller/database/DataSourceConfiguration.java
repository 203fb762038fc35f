package io.silk.controller.database;

import com.zaxxer.hikari.HikariConfig;
import io.silk.db.pool.DedicatedConnector;
import io.silk.db.pool.RenewablePool;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The controller's database connections: one pool ({@code spring.datasource.*}, its settings under
 * {@code spring.datasource.hikari.*}), or the embedded database when no URL is set, and the
 * dedicated connections of the feeds and signals to the same database. Nothing here connects at
 * start-up: a replica starts while its database is down ({@link DatabaseReadiness}).
 */
@Configuration(proxyBeanMethods = false)
public class DataSourceConfiguration {

    /** Bound from spring.datasource.hikari.* after the URL and credentials are set here. */
    @Bean
    @ConfigurationProperties("spring.datasource.hikari")
    HikariConfig hikariConfig(Environment env, ObjectProvider<EmbeddedPostgres> embedded) {
        EmbeddedPostgres pg = embedded.getIfAvailable();
        HikariConfig c = pg != null
                ? RenewablePool.settings("silk-controller", pg.getJdbcUrl("postgres", "postgres"), "postgres", "postgres")
                : RenewablePool.settings("silk-controller", env.getRequiredProperty("spring.datasource.url"),
                        env.getProperty("spring.datasource.username"), env.getProperty("spring.datasource.password"));
        // Start without the database: the pool connects on first use (DatabaseReadiness).
        c.setInitializationFailTimeout(-1);
        return c;
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
