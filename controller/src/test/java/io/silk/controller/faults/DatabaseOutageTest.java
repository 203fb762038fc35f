package io.silk.controller.faults;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.grpc.StatusMapping;
import io.silk.controller.lease.LeaseHousekeeping;
import io.silk.controller.testing.ControllerReplica;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.testing.StoppablePostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The database is away when a replica starts, or for a long while under load: the replica waits it out and is back at once. */
class DatabaseOutageTest {

    private static int readiness(ControllerReplica replica) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + replica.httpPort() + "/actuator/health/readiness")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void aReplicaStartedWhileItsDatabaseIsDownStartsNotReadyAndServesOnceTheDatabaseAnswers() throws Exception {
        try (StoppablePostgres pg = StoppablePostgres.reserve("silk-pg-late");
                var replica = ControllerReplica.start(pg.database(), "spring.datasource.hikari.connection-timeout=500")) {
            var stub = replica.operatorStub();
            assertThat(readiness(replica)).as("not ready without a database").isEqualTo(503);
            StatusRuntimeException refused = acquireRefused(stub, "10.3.0.1");
            assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(refused.getStatus().getDescription()).contains("retry").doesNotContain("(null)");

            pg.start();
            String subnet = acquireWithin(stub, "10.3.0.1", 10_000);
            assertThat(subnet).startsWith("10.255.");
            assertThat(readiness(replica)).isEqualTo(200);
        }
    }

    @Test
    void afterALongOutageWritesResumeWithinASecondAndTheSweepLogsOneLineWithoutStackTraces() throws Exception {
        StoppablePostgres pg = StoppablePostgres.reserve("silk-pg-long").start();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger sweepLog = (Logger) LoggerFactory.getLogger(LeaseHousekeeping.class);
        Logger statusLog = (Logger) LoggerFactory.getLogger(StatusMapping.class);
        try (pg; var replica = ControllerReplica.start(pg.database(), "spring.datasource.hikari.connection-timeout=500",
                "silk.controller.lease.expiry-sweep-interval=200ms")) {
            var stub = replica.operatorStub();
            acquireWithin(stub, "10.3.1.1", 5_000);
            sweepLog.addAppender(logs);
            statusLog.addAppender(logs);

            pg.stop();
            // Long enough for the pool's own reconnect backoff to reach its 5 s cap, with callers retrying all along.
            long outageEnds = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
            while (System.nanoTime() < outageEnds) {
                StatusRuntimeException e = acquireRefused(stub, "10.3.1.2");
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.getStatus().getDescription()).startsWith("database unavailable; retry with backoff")
                        .doesNotContain("(null)");
                Thread.sleep(100);
            }

            pg.start();
            long answering = System.nanoTime();
            acquireWithin(stub, "10.3.1.2", 10_000);
            long recoveredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - answering);
            assertThat(recoveredMs).as("ms from the database answering to a write succeeding").isLessThan(1000);

            var sweepLines = logs.list.stream().filter(e -> e.getLoggerName().equals(LeaseHousekeeping.class.getName())
                    && e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
            assertThat(sweepLines).as("one line for the whole outage").hasSize(1);
            assertThat(logs.list).as("no stack traces").allSatisfy(e -> assertThat(e.getThrowableProxy()).isNull());
        } finally {
            sweepLog.detachAppender(logs);
            statusLog.detachAppender(logs);
        }
    }

    private static StatusRuntimeException acquireRefused(LeaseServiceGrpc.LeaseServiceBlockingStub stub, String cell) {
        try {
            stub.withDeadlineAfter(5, TimeUnit.SECONDS).acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("acquire succeeded with the database down");
    }

    private static String acquireWithin(LeaseServiceGrpc.LeaseServiceBlockingStub stub, String cell, long ms) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        while (true) {
            try {
                return stub.withDeadlineAfter(2, TimeUnit.SECONDS).acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build())
                        .getLease().getOverlaySubnet();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }
}
