package io.silk.controller.silkapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.ListRequest;
import io.silk.testing.MutualTlsCurl;
import io.silk.testing.Eventually;
import io.silk.testing.TestPostgres;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Silk's {@code single_overlay_ip} leases over the Silk lease API (curl over real mTLS, a real
 * PostgreSQL): a host such as a router gets one address, a /32 of the network's first
 * subnet-sized block, which cells never get; silk.v1 cells list and watch it like any lease.
 */
class SilkLeaseApiSingleIpTest {

    static final ObjectMapper JSON = new ObjectMapper();

    record Answer(int status, JsonNode body) {

        String subnet() {
            return body.path("overlay_subnet").asText();
        }

        String error() {
            return body.path("error").asText();
        }
    }

    /** A Silk daemon's calls, with one certificate the CA signed (Silk's daemons share one). */
    record SilkApi(int port) {

        static SilkApi of(ControllerReplica replica) {
            return new SilkApi(replica.context().getBean(SilkLeaseApi.class).port());
        }

        Answer call(String method, String path, String body) throws Exception {
            TestPki.Identity id = TestPki.cell("10.8.0.1");
            MutualTlsCurl.Answer a = new MutualTlsCurl(TestPki.ca(), id.certificate(), id.key())
                    .call(method, "https://localhost:" + port + path, body);
            return new Answer(a.status(), JSON.readTree(a.body()));
        }

        Answer acquireSingle(String host) throws Exception {
            return call("PUT", "/leases/acquire", "{\"underlay_ip\":\"" + host + "\",\"single_overlay_ip\":true}");
        }

        Answer acquireSubnet(String cell) throws Exception {
            return call("PUT", "/leases/acquire", "{\"underlay_ip\":\"" + cell + "\",\"single_overlay_ip\":false}");
        }

        Answer renew(JsonNode lease) throws Exception {
            return call("PUT", "/leases/renew", lease.toString());
        }

        Answer renew(String cell, String subnet, String mac) throws Exception {
            return call("PUT", "/leases/renew", "{\"underlay_ip\":\"" + cell + "\",\"overlay_subnet\":\"" + subnet
                    + "\",\"overlay_hardware_addr\":\"" + mac + "\"}");
        }

        Answer release(String cell) throws Exception {
            return call("PUT", "/leases/release", "{\"underlay_ip\":\"" + cell + "\"}");
        }

        /** GET /leases as underlay IP → overlay subnet, one string per lease. */
        List<String> listed() throws Exception {
            Answer a = call("GET", "/leases", null);
            assertThat(a.status()).isEqualTo(200);
            List<String> out = new ArrayList<>();
            a.body().path("leases").forEach(l -> out.add(l.path("underlay_ip").asText() + " " + l.path("overlay_subnet").asText()
                    + " " + l.path("overlay_hardware_addr").asText()));
            return out;
        }
    }

    static String[] silkApiOn(String... more) {
        List<String> props = new ArrayList<>(List.of("silk.controller.silk-api.port=0", "silk.controller.silk-api.address=127.0.0.1"));
        props.addAll(List.of(more));
        return props.toArray(String[]::new);
    }

    @Test
    void aRouterLeasesOneAddressOfTheFirstBlockThatCellsNeverGet() throws Exception {
        // 10.60.0.0/27 in /29s: cells get 10.60.0.8/29, .16/29 and .24/29; 10.60.0.0/29 is the
        // single-IP block, 10.60.0.1 to 10.60.0.7.
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase(),
                silkApiOn("silk.controller.lease.network=10.60.0.0/27", "silk.controller.lease.subnet-prefix=29"))) {
            SilkApi silk = SilkApi.of(replica);
            WatchClient grpcCell = new WatchClient();
            grpcCell.watch(replica.channel(TestPki.cell("10.8.9.9")));
            grpcCell.awaitEstablished(Duration.ofSeconds(10));

            Answer router = silk.acquireSingle("10.8.5.1");
            assertThat(router.status()).isEqualTo(200);
            assertThat(router.body().path("underlay_ip").asText()).isEqualTo("10.8.5.1");
            assertThat(router.subnet()).as(".0 is skipped, as in Silk").isEqualTo("10.60.0.1/32");
            assertThat(router.body().path("overlay_hardware_addr").asText()).isEqualTo("ee:ee:0a:3c:00:01");
            assertThat(silk.acquireSingle("10.8.5.1").body()).as("acquire is idempotent").isEqualTo(router.body());
            Answer second = silk.acquireSingle("10.8.5.2");
            assertThat(second.subnet()).isEqualTo("10.60.0.2/32");

            // Routable like any lease: Silk's GET /leases, silk.v1's List and Watch.
            assertThat(silk.listed()).contains("10.8.5.1 10.60.0.1/32 ee:ee:0a:3c:00:01", "10.8.5.2 10.60.0.2/32 ee:ee:0a:3c:00:02");
            assertThat(replica.operatorStub().list(ListRequest.getDefaultInstance()).getLeasesList())
                    .extracting(l -> l.getUnderlayIp() + " " + l.getOverlaySubnet() + " " + l.getOverlayHardwareAddr())
                    .contains("10.8.5.1 10.60.0.1/32 ee:ee:0a:3c:00:01", "10.8.5.2 10.60.0.2/32 ee:ee:0a:3c:00:02");
            grpcCell.awaitRoutable(m -> m.containsKey("10.8.5.1") && m.containsKey("10.8.5.2"), Duration.ofSeconds(5));
            Lease watched = grpcCell.routable().get("10.8.5.1");
            assertThat(watched.getOverlaySubnet()).isEqualTo("10.60.0.1/32");
            assertThat(watched.getOverlayHardwareAddr()).isEqualTo("ee:ee:0a:3c:00:01");

            // Renew: the lease as acquired; another address, or a MAC of another address, is refused.
            assertThat(silk.renew(router.body()).status()).isEqualTo(200);
            Answer other = silk.renew("10.8.5.1", "10.60.0.2/32", "ee:ee:0a:3c:00:02");
            assertThat(other.status()).isEqualTo(409);
            assertThat(other.error()).contains("10.8.5.1", "10.60.0.1/32");
            assertThat(silk.renew("10.8.5.1", "10.60.0.1/32", "ee:ee:0a:3c:00:02").status()).isEqualTo(400);

            // Cells never get the first block, and the subnet pool's exhaustion is Silk's 409.
            List<String> cellSubnets = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                Answer cell = silk.acquireSubnet("10.8.6." + i);
                assertThat(cell.status()).isEqualTo(200);
                cellSubnets.add(cell.subnet());
            }
            assertThat(cellSubnets).containsExactlyInAnyOrder("10.60.0.8/29", "10.60.0.16/29", "10.60.0.24/29");
            Answer noSubnet = silk.acquireSubnet("10.8.6.4");
            assertThat(noSubnet.status()).isEqualTo(409);
            assertThat(noSubnet.error()).startsWith("no lease available: ").contains("10.8.6.4", "exhausted");

            // A host that holds a subnet keeps it when it asks for a single IP, as in Silk.
            assertThat(silk.acquireSingle("10.8.6.1").subnet()).isEqualTo(cellSubnets.getFirst());

            // Release: gone from every listing, its address goes to the next router.
            assertThat(silk.release("10.8.5.1").status()).isEqualTo(200);
            assertThat(silk.listed()).noneMatch(l -> l.startsWith("10.8.5.1 "));
            grpcCell.awaitRoutable(m -> !m.containsKey("10.8.5.1"), Duration.ofSeconds(5));
            assertThat(silk.acquireSingle("10.8.5.3").subnet()).isEqualTo("10.60.0.1/32");

            // The block has 7 addresses; the 8th router is told there is no lease available.
            for (int i = 4; i <= 8; i++) {
                assertThat(silk.acquireSingle("10.8.5." + i).subnet()).isEqualTo("10.60.0." + (i - 1) + "/32");
            }
            Answer exhausted = silk.acquireSingle("10.8.5.9");
            assertThat(exhausted.status()).isEqualTo(409);
            assertThat(exhausted.error()).isEqualTo("no lease available: acquire single overlay IP for 10.8.5.9: the single-IP"
                    + " block 10.60.0.0/29 is exhausted: all 7 addresses are leased and none has expired");
            assertThat(silk.listed()).filteredOn(l -> l.contains("/32 ")).hasSize(7);
            grpcCell.cancel();
        }
    }

    @Test
    void routersAcquiringAtOnceOnTwoReplicasGetDistinctAddresses() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        try (var a = ControllerReplica.start(db, silkApiOn()); var b = ControllerReplica.start(db, silkApiOn())) {
            List<SilkApi> replicas = List.of(SilkApi.of(a), SilkApi.of(b));
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
                List<java.util.concurrent.Future<Answer>> calls = new ArrayList<>();
                for (int i = 1; i <= 8; i++) {
                    String host = "10.8.5." + i;
                    SilkApi replica = replicas.get(i % 2);
                    calls.add(pool.submit(() -> replica.acquireSingle(host)));
                }
                List<String> subnets = new ArrayList<>();
                for (var call : calls) {
                    Answer answer = call.get();
                    assertThat(answer.status()).as(answer.body().toString()).isEqualTo(200);
                    subnets.add(answer.subnet());
                }
                assertThat(subnets).containsExactlyInAnyOrder("10.255.0.1/32", "10.255.0.2/32", "10.255.0.3/32",
                        "10.255.0.4/32", "10.255.0.5/32", "10.255.0.6/32", "10.255.0.7/32", "10.255.0.8/32");
            }
        }
    }

    @Test
    void anExhaustedBlockReclaimsTheOldestExpiredSingleIp() throws Exception {
        // 10.61.0.0/28 in /30s: single IPs 10.61.0.1 to 10.61.0.3.
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase(),
                silkApiOn("silk.controller.lease.network=10.61.0.0/28", "silk.controller.lease.subnet-prefix=30",
                        "silk.controller.lease.ttl=2s", "silk.controller.lease.expiry-sweep-interval=100ms"))) {
            SilkApi silk = SilkApi.of(replica);
            Answer first = silk.acquireSingle("10.8.5.1");
            assertThat(first.subnet()).isEqualTo("10.61.0.1/32");
            Thread.sleep(200);
            assertThat(silk.acquireSingle("10.8.5.2").subnet()).isEqualTo("10.61.0.2/32");
            assertThat(silk.acquireSingle("10.8.5.3").subnet()).isEqualTo("10.61.0.3/32");
            // Expired (2 s) and swept (every 100 ms): no longer routable.
            Eventually.await("the three leases expired and not listed", () -> silk.listed().isEmpty());

            assertThat(silk.acquireSingle("10.8.5.4").subnet()).as("the oldest expired").isEqualTo("10.61.0.1/32");
            Answer lost = silk.renew(first.body());
            assertThat(lost.status()).as("the reclaimed host cannot renew").isEqualTo(409);
            assertThat(silk.renew("10.8.5.2", "10.61.0.2/32", "ee:ee:0a:3d:00:02").status()).as("revived").isEqualTo(200);
            assertThat(silk.listed()).contains("10.8.5.2 10.61.0.2/32 ee:ee:0a:3d:00:02");
        }
    }

    @Test
    void aRenewHealsASingleIpTheDatabaseLost() throws Exception {
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase(), silkApiOn())) {
            SilkApi silk = SilkApi.of(replica);
            assertThat(silk.renew("10.8.5.1", "10.255.0.7/32", "ee:ee:0a:ff:00:07").status()).isEqualTo(200);
            assertThat(silk.listed()).contains("10.8.5.1 10.255.0.7/32 ee:ee:0a:ff:00:07");
            assertThat(silk.acquireSingle("10.8.5.1").subnet()).isEqualTo("10.255.0.7/32");
            assertThat(silk.renew("10.8.5.2", "10.255.0.7/32", "ee:ee:0a:ff:00:07").status()).as("held by another").isEqualTo(409);
            Answer notOffered = silk.renew("10.8.5.3", "10.255.0.0/32", "ee:ee:0a:ff:00:00");
            assertThat(notOffered.status()).as("the block's first address is not a single IP").isEqualTo(409);
            assertThat(notOffered.error()).contains("single IPs in 10.255.0.0/24");
            assertThat(silk.renew("10.8.5.3", "10.254.0.7/32", "ee:ee:0a:fe:00:07").status()).as("outside").isEqualTo(409);
            assertThat(silk.acquireSingle("10.8.5.3").subnet()).as("around the adopted one").isEqualTo("10.255.0.1/32");
            // A host holding a single IP that asks for a subnet moves to one (Silk would hand the /32 back).
            assertThat(silk.acquireSubnet("10.8.5.1").subnet()).isEqualTo("10.255.1.0/24");
            assertThat(silk.listed()).contains("10.8.5.1 10.255.1.0/24 ee:ee:0a:ff:01:00").noneMatch(l -> l.contains("10.255.0.7/32"));
            Answer badFlag = silk.call("PUT", "/leases/acquire", "{\"underlay_ip\":\"10.8.5.4\",\"single_overlay_ip\":\"yes\"}");
            assertThat(badFlag.status()).isEqualTo(400);
            assertThat(badFlag.error()).contains("single_overlay_ip");
        }
    }

    @Test
    void aFreeListBuiltForAnEarlierNetworkNeverGivesACellTheNewFirstBlock() throws Exception {
        // 10.62.1.0/25 is subnet 2 of 10.62.0.0/23 in /25s, and subnet 0 of 10.62.1.0/24 in /25s.
        TestPostgres.Database db = TestPostgres.newDatabase();
        try (var replica = ControllerReplica.start(db, silkApiOn("silk.controller.lease.network=10.62.0.0/23",
                "silk.controller.lease.subnet-prefix=25"))) {
            assertThat(freeSubnets(db)).contains("10.62.1.0/25");
        }
        try (var replica = ControllerReplica.start(db, silkApiOn("silk.controller.lease.network=10.62.1.0/24",
                "silk.controller.lease.subnet-prefix=25"))) {
            SilkApi silk = SilkApi.of(replica);
            assertThat(freeSubnets(db)).containsExactly("10.62.1.128/25");
            assertThat(silk.acquireSubnet("10.8.6.1").subnet()).isEqualTo("10.62.1.128/25");
            assertThat(silk.acquireSubnet("10.8.6.2").status()).isEqualTo(409);
            assertThat(silk.acquireSingle("10.8.5.1").subnet()).isEqualTo("10.62.1.1/32");
        }
    }

    @Test
    void aCellHoldingTheFirstBlockKeepsItAndSingleIpsNeverDisplaceIt() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        try (var replica = ControllerReplica.start(db, silkApiOn("silk.controller.lease.network=10.62.0.0/23",
                "silk.controller.lease.subnet-prefix=25"))) {
            // The cell heals a lost database with the subnet it held: subnet 2 of this network.
            assertThat(SilkApi.of(replica).renew("10.8.7.1", "10.62.1.0/25", "ee:ee:0a:3e:01:00").status()).isEqualTo(200);
        }
        try (var replica = ControllerReplica.start(db, silkApiOn("silk.controller.lease.network=10.62.1.0/24",
                "silk.controller.lease.subnet-prefix=25", "silk.controller.lease.ttl=3s",
                "silk.controller.lease.expiry-sweep-interval=100ms"))) {
            SilkApi silk = SilkApi.of(replica);
            assertThat(silk.renew("10.8.7.1", "10.62.1.0/25", "ee:ee:0a:3e:01:00").status()).as("kept").isEqualTo(200);
            assertThat(silk.listed()).contains("10.8.7.1 10.62.1.0/25 ee:ee:0a:3e:01:00");
            Answer none = silk.acquireSingle("10.8.5.1");
            assertThat(none.status()).as("every address of the block is the cell's").isEqualTo(409);
            assertThat(none.error()).contains("single-IP block 10.62.1.0/25 is exhausted");

            // Expired, it is still not given to another cell (nor to a router).
            Thread.sleep(3500);
            assertThat(silk.acquireSubnet("10.8.6.1").subnet()).isEqualTo("10.62.1.128/25");
            assertThat(silk.acquireSubnet("10.8.6.2").status()).as("subnet 0 is not reclaimed for a cell").isEqualTo(409);
            assertThat(silk.acquireSingle("10.8.5.1").status()).isEqualTo(409);
            assertThat(silk.renew("10.8.7.1", "10.62.1.0/25", "ee:ee:0a:3e:01:00").status()).as("revived").isEqualTo(200);

            // Released, the block serves single IPs and is not listed free for cells.
            assertThat(silk.release("10.8.7.1").status()).isEqualTo(200);
            assertThat(freeSubnets(db)).doesNotContain("10.62.1.0/25");
            assertThat(silk.acquireSingle("10.8.5.1").subnet()).isEqualTo("10.62.1.1/32");
        }
    }

    static List<String> freeSubnets(TestPostgres.Database db) throws Exception {
        List<String> out = new ArrayList<>();
        try (var c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT subnet::text FROM free_subnet ORDER BY subnet")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
