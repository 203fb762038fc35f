package io.silk.controller.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.controller.testing.ControllerReplica;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.AcquireResponse;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc.LeaseServiceBlockingStub;
import io.silk.proto.v1.RenewRequest;
import io.silk.testing.Eventually;
import io.silk.testing.TestPostgres;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The database is lost and recreated under 50 cells holding leases, and 50 new cells acquire at
 * once while the old ones renew at their pace: without the fence most old cells found their subnet
 * taken by a new cell. With it no old cell is displaced, and the new cells are served once the
 * window ends (or an operator ends it).
 */
class AllocationFenceTest {

    static final int OLD = 50;
    static final int NEW = 50;
    /** The cells' renew interval in this test: the window is longer, as the docs ask. */
    static final Duration RENEW_INTERVAL = Duration.ofSeconds(2);
    static final Duration WINDOW = Duration.ofSeconds(4);
    /**
     * An old cell's renew deadline. The window must cover the longest time between two renews of a
     * cell, a call that runs out its deadline and the retry included (configuration.md,
     * fence-window): 2 s + 1 s + 0.1 s here, as 36 s + 5 s + backoff under the 60 s default.
     */
    static final Duration RENEW_DEADLINE = Duration.ofSeconds(1);

    record Held(String cell, String subnet, String mac) {}

    @Test
    void aDatabaseRecreatedUnderARunningReplicaDisplacesNoCellAndServesNewCellsAfterTheWindow() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        try (var replica = ControllerReplica.start(db, "silk.controller.lease.fence-window=" + WINDOW.toSeconds() + "s")) {
            LeaseServiceBlockingStub leases = replica.operatorStub();
            List<Held> old = new ArrayList<>();
            String oldDatabase = null;
            for (int i = 1; i <= OLD; i++) {
                AcquireResponse r = leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.1.0." + i).build());
                old.add(new Held("10.1.0." + i, r.getLease().getOverlaySubnet(), r.getLease().getOverlayHardwareAddr()));
                oldDatabase = r.getDatabaseId();
            }
            assertThat(oldDatabase).isNotEmpty();
            assertThat(fence(replica, "GET")).contains("\"active\":false");

            try (var c = db.connect(); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA public CASCADE");
                s.execute("CREATE SCHEMA public");
            }
            Outcome outcome = rush(leases, old, oldDatabase);

            assertThat(outcome.displaced).as("old cells whose renew was refused: %s; fence: %s; their earlier refusals: %s; all old cells' refusals: %s",
                    outcome.displaced, fence(replica, "GET"), outcome.displaced.keySet().stream().map(outcome.renewTrail::get).toList(),
                    outcome.renewErrors).isEmpty();
            assertThat(outcome.fencedRefusals.get()).as("new cells were held back").isPositive();
            assertThat(outcome.newSubnets).as("new cells served; the others' last errors: %s; all errors: %s", outcome.lastError, outcome.errors).hasSize(NEW);
            Set<String> oldSubnets = new HashSet<>(old.stream().map(Held::subnet).toList());
            assertThat(outcome.newSubnets.values()).doesNotContainAnyElementsOf(oldSubnets).doesNotHaveDuplicates();
            // Held back until the fence's end, and served soon after it (they retry every 100 ms).
            String state = fence(replica, "GET");
            assertThat(state).contains("\"active\":false", "replaced");
            Instant until = until(state);
            assertThat(outcome.firstNewServed.get()).isBetween(until.minusMillis(100), until.plusSeconds(3));
        }
    }

    @Test
    void aReplicaStartedOnANewDatabaseFencesWhenACellNamesTheOldOneAndAnOperatorMayEndIt() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        Held cell;
        String oldDatabase;
        try (var replica = ControllerReplica.start(db)) {
            AcquireResponse r = replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.2.0.1").build());
            cell = new Held("10.2.0.1", r.getLease().getOverlaySubnet(), r.getLease().getOverlayHardwareAddr());
            oldDatabase = r.getDatabaseId();
        }
        // The whole control plane comes back on an empty database: no replica remembers the old one.
        try (var c = db.connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        }
        try (var replica = ControllerReplica.start(db)) {
            LeaseServiceBlockingStub leases = replica.operatorStub();
            // A first install is not fenced: this database is new, but nobody has said so yet.
            assertThat(fence(replica, "GET")).contains("\"active\":false");

            Lease renewed = leases.renew(RenewRequest.newBuilder().setDatabaseId(oldDatabase).setLease(Lease.newBuilder()
                    .setUnderlayIp(cell.cell()).setOverlaySubnet(cell.subnet()).setOverlayHardwareAddr(cell.mac())).build()).getLease();
            assertThat(renewed.getOverlaySubnet()).isEqualTo(cell.subnet());

            StatusRuntimeException refused = acquireFails(leases, "10.2.0.2");
            assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(refused.getStatus().getDescription()).contains("acquire lease for cell 10.2.0.2", "fenced", "cell 10.2.0.1",
                    oldDatabase, "retry");
            // A cell the table knows still gets its own lease back.
            assertThat(leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell.cell()).build()).getLease().getOverlaySubnet())
                    .isEqualTo(cell.subnet());

            assertThat(fence(replica, "DELETE")).contains("\"active\":false");
            assertThat(leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.2.0.2").build()).getLease().getOverlaySubnet())
                    .isNotEqualTo(cell.subnet());

            // Once per database: the same old id again does not fence again; an operator can.
            leases.renew(RenewRequest.newBuilder().setDatabaseId(oldDatabase).setLease(renewed).build());
            leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.2.0.3").build());
            assertThat(fence(replica, "POST")).contains("\"active\":true", "started by an operator");
            assertThat(acquireFails(leases, "10.2.0.4").getStatus().getDescription()).contains("fenced");
        }
    }

    @Test
    void aDumpRestoredIntoAnotherDatabaseGetsANewIdentityAndIsFenced() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        String before;
        try (var replica = ControllerReplica.start(db)) {
            before = replica.operatorStub().acquire(AcquireRequest.newBuilder().setUnderlayIp("10.3.0.1").build()).getDatabaseId();
        }
        // What a restored dump looks like from inside: the identity row names the database it was made in.
        try (var c = db.connect(); Statement s = c.createStatement()) {
            s.execute("UPDATE database_identity SET database_oid = (database_oid::bigint + 1)::oid");
        }
        try (var replica = ControllerReplica.start(db)) {
            LeaseServiceBlockingStub leases = replica.operatorStub();
            assertThat(fence(replica, "GET")).contains("\"active\":true", "restored or copied");
            StatusRuntimeException refused = acquireFails(leases, "10.3.0.2");
            assertThat(refused.getStatus().getDescription()).contains("fenced");
            AcquireResponse known = leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.3.0.1").build());
            assertThat(known.getDatabaseId()).as("a new identity").isNotEqualTo(before).isNotEmpty();
        }
    }

    /**
     * A restored copy swapped in under a running replica: until its feeds reconnect and set it up,
     * the fence has not started, so an operator's end would end nothing and the fence would then
     * start for the whole window. The endpoint says so (409) instead; once set up, the end works.
     */
    @Test
    void anOperatorCannotEndTheFenceOfARestoredDatabaseBeforeItIsSetUp() throws Exception {
        TestPostgres.Database db = TestPostgres.newDatabase();
        // The feeds' periodic look at which database they read would notice the copy too: not here.
        try (var replica = ControllerReplica.start(db, "silk.controller.lease.fence-window=60s",
                "silk.controller.event-log.identity-recheck=1h")) {
            LeaseServiceBlockingStub leases = replica.operatorStub();
            String before = leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.4.0.1").build()).getDatabaseId();
            // A copy in place, its identity row naming the database it was made in; the replica's
            // connections stay up, so it does not notice until they break.
            try (var c = db.connect(); Statement s = c.createStatement()) {
                s.execute("UPDATE database_identity SET database_oid = (database_oid::bigint + 1)::oid");
            }
            assertThat(fence(replica, "GET")).contains("\"active\":true", "\"settingUp\":true", "setting it up");
            ControllerReplica.Answer early = replica.actuatorAnswer("DELETE", "fence", null);
            assertThat(early.status()).as(early.body()).isEqualTo(409);
            assertThat(early.body()).contains("\"error\":\"end the allocation fence: ", "still setting it up");
            assertThat(acquireFails(leases, "10.4.0.2").getStatus().getDescription()).contains("fenced");

            // The swap's dropped connections: the feeds reconnect, set the copy up, and start its fence.
            try (var c = db.connect(); Statement s = c.createStatement()) {
                s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
            }
            // Past Hikari's 500 ms alive-bypass window: the pool checks every connection the kill cut
            // before it hands it out, so the calls below meet none.
            sleep(600);
            String setUp = awaitSetUp(replica);
            assertThat(setUp).contains("\"active\":true", "restored or copied").doesNotContain(before);
            assertThat(setUp).as("the copy's own identity").containsPattern("\"databaseId\":\"[0-9a-f-]{36}\"");
            assertThat(until(setUp)).isAfter(Instant.now().plusSeconds(30));
            assertThat(fence(replica, "DELETE")).contains("\"active\":false", "\"settingUp\":false");
            assertThat(leases.acquire(AcquireRequest.newBuilder().setUnderlayIp("10.4.0.2").build()).getLease().getOverlaySubnet())
                    .isNotEmpty();
        }
    }

    /**
     * Waits (10 s at most) until no restored copy awaits set-up; returns the fence's state then. An
     * answer other than 200 is waited out too: the swap cut the pool's connections, and a replica
     * may hand out one of them once before it evicts it.
     */
    static String awaitSetUp(ControllerReplica replica) {
        AtomicReference<ControllerReplica.Answer> last = new AtomicReference<>();
        Eventually.await("set-up of the restored database: GET /actuator/fence with settingUp false", () -> {
            last.set(replica.actuatorAnswer("GET", "fence", null));
            return last.get().status() == 200 && last.get().body().contains("\"settingUp\":false");
        });
        return last.get().body();
    }

    /** What happened while new cells rushed in and old cells renewed at their pace. */
    static final class Outcome {
        final Map<String, String> displaced = new ConcurrentHashMap<>();
        final Map<String, String> newSubnets = new ConcurrentHashMap<>();
        final AtomicInteger fencedRefusals = new AtomicInteger();
        final AtomicReference<Instant> firstNewServed = new AtomicReference<>();
        final Map<String, String> lastError = new ConcurrentHashMap<>();
        final Map<String, Integer> errors = new ConcurrentHashMap<>();
        /** Old cells' refused renews, by kind, and each cell's refusals in order: what kept a cell from renewing. */
        final Map<String, Integer> renewErrors = new ConcurrentHashMap<>();
        final Map<String, java.util.Queue<String>> renewTrail = new ConcurrentHashMap<>();
    }

    /**
     * 50 new cells acquire at once, retrying on UNAVAILABLE (as daemons do); every old cell renews
     * at a random moment of its interval, naming the old database, then on every interval, until the
     * new cells are all served.
     */
    static Outcome rush(LeaseServiceBlockingStub leases, List<Held> old, String oldDatabase) throws Exception {
        Outcome o = new Outcome();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        List<Thread> threads = new ArrayList<>();
        for (int i = 1; i <= NEW; i++) {
            String cell = "10.9.0." + i;
            threads.add(Thread.ofVirtual().start(() -> {
                while (System.nanoTime() < deadline) {
                    try {
                        o.lastError.remove(cell);
                        o.newSubnets.put(cell, leases.withDeadlineAfter(5, TimeUnit.SECONDS).acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build())
                                .getLease().getOverlaySubnet());
                        o.firstNewServed.compareAndSet(null, Instant.now());
                        return;
                    } catch (StatusRuntimeException e) {
                        if (e.getStatus().getDescription() != null && e.getStatus().getDescription().contains("fenced")) {
                            o.fencedRefusals.incrementAndGet();
                        }
                        o.lastError.put(cell, e.getStatus().toString());
                        o.errors.merge(e.getStatus().getCode() + ": " + String.valueOf(e.getStatus().getDescription())
                                .replaceAll("[0-9]", "#"), 1, Integer::sum);
                        sleep(100);
                    }
                }
            }));
        }
        for (Held h : old) {
            threads.add(Thread.ofVirtual().start(() -> {
                long next = ThreadLocalRandom.current().nextLong(RENEW_INTERVAL.toMillis());
                String databaseId = oldDatabase;
                while (System.nanoTime() < deadline && o.newSubnets.size() < NEW) {
                    sleep(next);
                    next = RENEW_INTERVAL.toMillis();
                    Instant sent = Instant.now();
                    try {
                        var r = leases.withDeadlineAfter(RENEW_DEADLINE.toMillis(), TimeUnit.MILLISECONDS).renew(RenewRequest.newBuilder().setDatabaseId(databaseId).setLease(Lease.newBuilder()
                                .setUnderlayIp(h.cell()).setOverlaySubnet(h.subnet()).setOverlayHardwareAddr(h.mac())).build());
                        databaseId = r.getDatabaseId();
                    } catch (StatusRuntimeException e) {
                        if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
                            o.displaced.put(h.cell(), sent + " +" + Duration.between(sent, Instant.now()).toMillis() + " ms "
                                    + e.getStatus().getDescription());
                            return;
                        }
                        o.renewErrors.merge(e.getStatus().getCode() + ": " + String.valueOf(e.getStatus().getDescription())
                                .replaceAll("[0-9]", "#"), 1, Integer::sum);
                        o.renewTrail.computeIfAbsent(h.cell(), k -> new java.util.concurrent.ConcurrentLinkedQueue<>())
                                .add(sent + " +" + Duration.between(sent, Instant.now()).toMillis() + " ms " + e.getStatus().getCode()
                                        + " " + e.getStatus().getDescription());
                        next = 100; // UNAVAILABLE while the replica sets the new database up: retry soon
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        return o;
    }

    /** The fence's end, from the endpoint's JSON. */
    static Instant until(String state) {
        Matcher m = Pattern.compile("\"until\":\"([^\"]+)\"").matcher(state);
        assertThat(m.find()).as("until in %s", state).isTrue();
        return Instant.parse(m.group(1));
    }

    private static StatusRuntimeException acquireFails(LeaseServiceBlockingStub leases, String cell) {
        try {
            leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build());
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("acquire for " + cell + " succeeded while allocation should be fenced");
    }

    /** The fence endpoint on the replica's management port: GET, DELETE (end) or POST (start). */
    static String fence(ControllerReplica replica, String method) {
        return replica.actuator(method, "fence", "{\"reason\":\"restored a backup\"}");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
