package io.silk.controller.database;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The embedded PostgreSQL used when no {@code spring.datasource.url} is set (prefix
 * {@code silk.controller.embedded-database}).
 *
 * @param dataDir where its data lives (survives restarts)
 * @param port    its port on loopback; 0 picks a free one
 */
@ConfigurationProperties("silk.controller.embedded-database")
public record EmbeddedDatabaseProperties(Path dataDir, Integer port) {
    public EmbeddedDatabaseProperties {
        dataDir = dataDir == null ? Path.of("var/controller-db") : dataDir;
        port = port == null ? 0 : port;
    }
}
