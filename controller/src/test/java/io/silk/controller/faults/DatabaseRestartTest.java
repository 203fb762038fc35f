package io.silk.controller.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.StoppablePostgres;
import io.silk.controller.testing.WatchClient;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The database goes away mid-run: callers get a retriable error, then everything resumes, nothing lost. */
class DatabaseRestartTest {

    @Test
    void callersGetUnavailableWhileTheDatabaseIsDownAndNothingIsLost() throws Exception {
        try (StoppablePostgres pg = StoppablePostgres.reserve("silk-pg-restart").start();
                var replica = ControllerReplica.start(pg.database(), "spring.datasource.hikari.connection-timeout=1000")) {
            var stub = replica.operatorStub();
            Lease before = stub.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.0.0.1").build()).getLease();
            WatchClient watcher = new WatchClient();
            watcher.watch(replica.channel(TestPki.operator()));
            watcher.awaitEstablished(Duration.ofSeconds(10));
            watcher.awaitRoutable(m -> m.containsKey("10.0.0.1"), Duration.ofSeconds(5));

            pg.stop();
            try {
                stub.withDeadlineAfter(20, TimeUnit.SECONDS)
                        .acquire(AcquireRequest.newBuilder().setUnderlayIp("10.0.0.2").build());
                throw new AssertionError("acquire succeeded with the database down");
            } catch (StatusRuntimeException e) {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.getStatus().getDescription()).contains("database unavailable", "retry");
            }

            pg.start();
            Lease after = null;
            long deadline = System.currentTimeMillis() + 30_000;
            while (after == null) {
                try {
                    after = stub.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.0.0.2").build()).getLease();
                } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.currentTimeMillis() > deadline) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
            // The lease from before the outage survived; the watch stream stayed open and sees the new one.
            assertThat(stub.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.0.0.1").build()).getLease()
                    .getOverlaySubnet()).isEqualTo(before.getOverlaySubnet());
            assertThat(after.getOverlaySubnet()).isNotEqualTo(before.getOverlaySubnet());
            watcher.awaitRoutable(m -> m.containsKey("10.0.0.2"), Duration.ofSeconds(10));
            watcher.cancel();
        }
    }
}
