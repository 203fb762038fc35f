package io.silk.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two controller replicas on one database: a cell daemon fails over when its replica dies. */
@ExtendWith(LabExtension.class)
class ControllerFailoverEndToEndTest {

    @Test
    void aCellCarriesOnThroughTheOtherReplica(Lab lab) throws Exception {
        String ctl = lab.host("ctl", Silk.CONTROLLER_IP);
        String cellA = lab.host("cella", "10.77.0.1");
        String cellB = lab.host("cellb", "10.77.0.2");
        Silk silk = new Silk(lab, "10.77.0.1", "10.77.0.2");
        // Replica 2 owns the embedded database; replica 1 (listed first to the cells) uses it.
        silk.controller(ctl, 7444, 9474, "controller-2", "--silk.controller.embedded-database.port=15432");
        Process first = silk.controller(ctl, 7443, 9464, "controller-1",
                "--spring.datasource.url=jdbc:postgresql://127.0.0.1:15432/postgres",
                "--spring.datasource.username=postgres", "--spring.datasource.password=postgres");
        Process a = silk.daemon(cellA, "10.77.0.1");
        silk.awaitHealthy(cellA, a, "10.77.0.1");
        String subnetA = silk.subnet(cellA);
        // A's watch is open (on replica 1, listed first) before that replica dies.
        silk.awaitWatching(cellA, "10.77.0.1", false);

        lab.stop(first, true);
        // A new cell joins through the surviving replica and A learns of it: A's watch failed over.
        Process b = silk.daemon(cellB, "10.77.0.2");
        silk.awaitHealthy(cellB, b, "10.77.0.2");
        String subnetB = silk.subnet(cellB);
        Lab.await("A routes to B", Duration.ofSeconds(15),
                () -> lab.in(cellA, "ip", "route", "show", subnetB).output().contains("silk-vtep"));
        // A keeps renewing its own lease through replica 2.
        Thread.sleep(3000);
        assertThat(silk.health(cellA)).contains("\"status\":\"UP\"", "\"watching\":true");
        assertThat(silk.subnet(cellA)).isEqualTo(subnetA);
        assertThat(java.nio.file.Files.readString(lab.work().resolve("daemon-10.77.0.1.log")))
                .contains("watching leases controller=10.77.0.100:7444");
    }
}
