package io.silk.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.proto.v1.AcquireRequest;
import com.zaxxer.hikari.HikariDataSource;
import io.silk.db.pool.RenewablePool;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With no datasource configured the controller runs its own durable PostgreSQL, and its data survives restarts. */
class EmbeddedDefaultTest {

    @Test
    void embeddedDatabaseKeepsLeasesAcrossRestarts() throws Exception {
        Path dataDir = Files.createTempDirectory("silk-embedded-default");
        Map<String, Object> props = Map.of(
                "silk.controller.embedded-database.data-dir", dataDir.toString(),
                "spring.datasource.hikari.maximum-pool-size", 5,
                "spring.grpc.server.port", 0,
                "server.port", 0,
                "silk.controller.tls.certificate", TestPki.serverCertificate().toString(),
                "silk.controller.tls.private-key", TestPki.serverKey().toString(),
                "silk.controller.tls.trust", TestPki.ca().toString());
        String subnet;
        try (var replica = ControllerReplica.start(props)) {
            subnet = replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.8.0.1").build())
                    .getLease().getOverlaySubnet();
            HikariDataSource pool = replica.context().getBean(RenewablePool.class).current();
            assertThat(pool.getMaximumPoolSize()).as("the configured pool size applies to the embedded database").isEqualTo(5);
            // An acquired lease must survive a crash of the machine, not only a clean restart.
            try (Connection db = pool.getConnection(); Statement s = db.createStatement()) {
                for (String setting : new String[] {"fsync", "synchronous_commit", "full_page_writes"}) {
                    try (ResultSet rs = s.executeQuery("SHOW " + setting)) {
                        rs.next();
                        assertThat(rs.getString(1)).as(setting).isEqualTo("on");
                    }
                }
            }
        }
        assertThat(dataDir.resolve("PG_VERSION")).exists();
        try (var replica = ControllerReplica.start(props)) {
            assertThat(replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.8.0.1").build())
                    .getLease().getOverlaySubnet()).isEqualTo(subnet);
        }
    }
}
