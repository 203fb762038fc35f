package io.silk.controller.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.TestPostgres;
import io.silk.proto.v1.AcquireRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ObservabilityTest {

    static String get(ControllerReplica replica, String path) throws Exception {
        var response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + replica.httpPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(path).isEqualTo(200);
        return response.body();
    }

    @Test
    void healthMetricsGrpcHealthAndReflection() throws Exception {
        try (var replica = ControllerReplica.start(TestPostgres.newDatabase())) {
            replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.7.0.1").build());

            assertThat(get(replica, "/actuator/health")).contains("\"db\":{", "\"status\":\"UP\"");

            String metrics = "";
            long deadline = System.currentTimeMillis() + 3000;
            while (!metrics.contains("silk_leases_held{application=\"silk-controller\"} 1.0")
                    && System.currentTimeMillis() < deadline) {
                metrics = get(replica, "/actuator/prometheus");
                Thread.sleep(50);
            }
            assertThat(metrics)
                    .contains("silk_leases_held{application=\"silk-controller\"} 1.0")
                    .contains("silk_leases_free{application=\"silk-controller\"} 254.0")
                    .contains("silk_leases_expired{application=\"silk-controller\"} 0.0")
                    .containsPattern("silk_grpc_server_call_seconds_count\\{[^}]*code=\"OK\"[^}]*method=\"silk.v1.LeaseService/Acquire\"[^}]*} 1")
                    .contains("silk_watch_streams")
                    .contains("hikaricp_connections_active");

            // The standard gRPC health service answers without a client certificate.
            var health = HealthGrpc.newBlockingStub(replica.channel(null)).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance());
            assertThat(health.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

            // Server reflection lists the lease service.
            CompletableFuture<ServerReflectionResponse> listed = new CompletableFuture<>();
            var requests = ServerReflectionGrpc.newStub(replica.channel(TestPki.operator())).serverReflectionInfo(
                    new StreamObserver<>() {
                        public void onNext(ServerReflectionResponse r) { listed.complete(r); }
                        public void onError(Throwable t) { listed.completeExceptionally(t); }
                        public void onCompleted() {}
                    });
            requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
            assertThat(listed.get(5, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
                    .extracting(ServiceResponse::getName).contains("silk.v1.LeaseService", "grpc.health.v1.Health");
            requests.onCompleted();
        }
    }
}
