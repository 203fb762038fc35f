package io.silk.controller.silkapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ListRequest;
import io.silk.testing.MutualTlsCurl;
import io.silk.testing.TestPostgres;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Silk's lease API as a silk-daemon calls it (curl with the client certificate, over real mTLS),
 * next to a silk.v1 cell on gRPC: both hold leases from one ledger and each sees the other's.
 */
class SilkLeaseApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static ControllerReplica replica;
    static int port;

    @BeforeAll
    static void start() {
        replica = ControllerReplica.start(TestPostgres.newDatabase(), "silk.controller.silk-api.port=0",
                "silk.controller.silk-api.address=127.0.0.1");
        port = replica.context().getBean(SilkLeaseApi.class).port();
    }

    @AfterAll
    static void stop() {
        replica.close();
    }

    record Answer(int status, JsonNode body) {}

    /** curl as a Silk cell: the cell's certificate (any the CA signed), the CA, the method and body. */
    static Answer call(String method, String path, String body, TestPki.Identity identity) throws Exception {
        MutualTlsCurl curl = identity == null ? MutualTlsCurl.anonymous(TestPki.ca())
                : new MutualTlsCurl(TestPki.ca(), identity.certificate(), identity.key());
        MutualTlsCurl.Answer a = curl.call(method, "https://localhost:" + port + path, body);
        return new Answer(a.status(), JSON.readTree(a.body()));
    }

    @Test
    void aSilkCellAndAGrpcCellShareTheLedger() throws Exception {
        TestPki.Identity silkCell = TestPki.cell("10.8.0.1");
        Answer acquired = call("PUT", "/leases/acquire", "{\"underlay_ip\":\"10.8.0.1\",\"single_overlay_ip\":false}", silkCell);
        assertThat(acquired.status()).isEqualTo(200);
        String subnet = acquired.body().get("overlay_subnet").asText();
        assertThat(acquired.body().get("underlay_ip").asText()).isEqualTo("10.8.0.1");
        assertThat(acquired.body().get("overlay_hardware_addr").asText()).startsWith("ee:ee:");
        Answer again = call("PUT", "/leases/acquire", "{\"underlay_ip\":\"10.8.0.1\"}", silkCell);
        assertThat(again.body().get("overlay_subnet").asText()).as("acquire is idempotent").isEqualTo(subnet);

        var grpcCell = LeaseServiceGrpc.newBlockingStub(replica.channel(TestPki.cell("10.8.0.2"))).withDeadlineAfter(10, TimeUnit.SECONDS);
        var grpcLease = grpcCell.acquire(AcquireRequest.getDefaultInstance()).getLease();
        String grpcSubnet = grpcLease.getOverlaySubnet();

        Answer listed = call("GET", "/leases", null, silkCell);
        assertThat(listed.status()).isEqualTo(200);
        assertThat(listed.body().get("leases").toString()).contains(subnet, grpcSubnet, "10.8.0.2");
        assertThat(grpcCell.list(ListRequest.getDefaultInstance()).getLeasesList())
                .anyMatch(l -> l.getUnderlayIp().equals("10.8.0.1") && l.getOverlaySubnet().equals(subnet));

        Answer renewed = call("PUT", "/leases/renew", acquired.body().toString(), silkCell);
        assertThat(renewed.status()).isEqualTo(200);
        Answer mismatch = call("PUT", "/leases/renew", "{\"underlay_ip\":\"10.8.0.1\",\"overlay_subnet\":\"" + grpcSubnet
                + "\",\"overlay_hardware_addr\":\"" + grpcLease.getOverlayHardwareAddr() + "\"}", silkCell);
        assertThat(mismatch.status()).as("a renew that disagrees with the ledger").isEqualTo(409);
        assertThat(mismatch.body().get("error").asText()).contains("10.8.0.1");

        assertThat(call("PUT", "/leases/release", "{\"underlay_ip\":\"10.8.0.1\"}", silkCell).status()).isEqualTo(200);
        assertThat(call("PUT", "/leases/release", "{\"underlay_ip\":\"10.8.0.1\"}", silkCell).status()).as("idempotent").isEqualTo(200);
        assertThat(call("GET", "/leases", null, silkCell).body().get("leases").toString()).doesNotContain("10.8.0.1\"");
    }

    @Test
    void badRequestsAreAnsweredInSilksTerms() throws Exception {
        TestPki.Identity silkCell = TestPki.cell("10.8.0.3");
        Answer notJson = call("PUT", "/leases/acquire", "{not json", silkCell);
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.body().get("error").asText()).contains("not JSON");
        Answer badIp = call("PUT", "/leases/acquire", "{\"underlay_ip\":\"10.8.0\"}", silkCell);
        assertThat(badIp.status()).isEqualTo(400);
        assertThat(badIp.body().get("error").asText()).contains("underlay_ip");
        assertThat(call("GET", "/leases/acquire", null, silkCell).status()).isEqualTo(405);
    }

    @Test
    void aClientWithoutACertificateIsRefusedAtTheHandshake() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> call("GET", "/leases", null, null))
                .isInstanceOf(IOException.class).hasMessageContaining("curl failed");
    }
}
