package io.silk.controller.lease;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.silk.controller.database.DatabaseIdentity;
import io.silk.controller.database.DatabaseSetup;
import io.silk.controller.grpc.Refusal;
import io.silk.values.Quote;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.annotation.Order;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Holds new cells back while the lease table may be missing leases that cells hold.
 *
 * <p>A database that is new under running cells (lost and recreated, restored from a backup, a
 * dump loaded elsewhere) knows none of the leases cells took after it was saved. Renews put them
 * back ({@link LeaseLedger#renew}), but a new cell acquiring first could be given one of those
 * subnets and displace a cell with containers. So when the controller learns that its database is
 * such a one, it fences allocation for {@code silk.controller.lease.fence-window}: renews re-adopt
 * their subnets, acquires of cells the table does not know are refused with UNAVAILABLE (retry).
 *
 * <p>How it learns, each starting the fence once per database identity:
 * <ul>
 *   <li>a running replica's feed finds another database under it ({@link #run} with replacement);</li>
 *   <li>the identity row names another cluster or database than the one it is in (a dump restored
 *       elsewhere or into a recreated database): the database gets a new identity;</li>
 *   <li>a cell renews or watches naming another database's identity;</li>
 *   <li>a cell resumes a watch from a revision this database never reached (it lost changes: a
 *       restore of an older backup, point-in-time recovery);</li>
 *   <li>an operator starts it ({@code POST /actuator/fence}).</li>
 * </ul>
 * A first install is none of these and is not fenced. The fence lives in the database
 * ({@code database_identity.fenced_until}), so every replica honours it at once; acquires test it
 * in the same statement that takes a subnet.
 */
@Component
@Order(0) // before SubnetPoolSetup: a replaced database is fenced before it offers a free subnet
public class AllocationFence implements DatabaseSetup {

    private static final Logger log = LoggerFactory.getLogger(AllocationFence.class);

    /** Starts the fence for the current identity, unless one was started for it before. */
    private static final String START_ONCE = """
            UPDATE database_identity SET fenced_for = uuid, fenced_until = now() + make_interval(secs => ?), fence_reason = ?
            WHERE fenced_for IS DISTINCT FROM uuid RETURNING fenced_until""";
    private static final String START_AGAIN = """
            UPDATE database_identity SET fenced_for = uuid, fenced_until = now() + make_interval(secs => ?), fence_reason = ?
            RETURNING fenced_until""";
    private static final String END = "UPDATE database_identity SET fenced_until = now() WHERE fenced_until > now() RETURNING fence_reason";
    private static final String STATE = """
            SELECT uuid::text, fenced_until,
                   CASE WHEN %1$s THEN 'the database was restored or copied from elsewhere; the controller is setting it up'
                        ELSE fence_reason END,
                   coalesce(fenced_until > now(), false) OR %1$s, %1$s
            FROM database_identity WHERE id = 1""".formatted(DatabaseIdentity.COPIED);
    /**
     * A new identity when the row was made in another cluster or database than the one it is in
     * now; records where it is in any case (a row from before the column existed).
     */
    private static final String ADOPT_ORIGIN = """
            WITH o AS (SELECT * FROM database_origin()),
            moved AS (
                SELECT i.database_oid IS NOT NULL AND (i.database_oid <> o.database_oid
                       OR (i.system_identifier IS NOT NULL AND o.system_identifier IS NOT NULL
                           AND i.system_identifier <> o.system_identifier)) AS moved
                FROM database_identity i, o WHERE i.id = 1)
            UPDATE database_identity i SET
                uuid = CASE WHEN moved.moved THEN gen_random_uuid() ELSE i.uuid END,
                system_identifier = o.system_identifier, database_oid = o.database_oid
            FROM o, moved
            WHERE i.id = 1 AND (moved.moved OR i.database_oid IS NULL OR i.system_identifier IS DISTINCT FROM o.system_identifier)
            RETURNING moved.moved, i.uuid::text""";
    private static final String SEQUENCE_AT = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM lease_revision";

    /**
     * The fence as it stands: the database identity, until when, why; active while now is before
     * {@code until}, or while {@code settingUp}: a restored copy is in place and no replica has set
     * it up yet (given it its own identity and started its fence; a second or so).
     */
    public record State(String databaseId, Instant until, String reason, boolean active, boolean settingUp) {}

    /** An operator tried to end a fence that has not started yet: the restored database is still being set up. */
    public static final class NotSetUp extends RuntimeException {
        NotSetUp(String message) {
            super(message);
        }
    }

    private final JdbcTemplate jdbc;
    private final Duration window;
    /** The identity a start was last tried for: a thousand old cells renewing cost one statement, not a thousand. */
    private volatile String triedFor;
    private final Counter refused;
    private final Counter started;

    public AllocationFence(DataSource dataSource, LeaseProperties properties, MeterRegistry registry) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.window = properties.fenceWindow();
        this.refused = Counter.builder("silk.lease.fenced.acquires").description("Acquires refused (retry) while allocation was fenced")
                .register(registry);
        this.started = Counter.builder("silk.lease.fences").description("Allocation fences this replica started, operators' included")
                .register(registry);
    }

    public Duration window() {
        return window;
    }

    /** At every set-up: a database restored where it was not made gets a new identity, and is fenced, as is a replacement. */
    @Override
    public void run(boolean replacement) {
        List<Boolean> moved = jdbc.query(ADOPT_ORIGIN, (rs, n) -> rs.getBoolean(1));
        if (!moved.isEmpty() && moved.getFirst()) {
            log.atWarn().setMessage("the database was restored or copied from another database; it has a new identity").log();
            start("the database was restored or copied from elsewhere (its identity names another database)");
        } else if (replacement) {
            start("the database under the controller was replaced (lost and recreated, or restored)");
        }
    }

    /** A cell named the database its lease or watch came from: another one means leases may be missing here. */
    public void cellNames(String cellDatabaseId, String currentDatabaseId, String who) {
        if (cellDatabaseId == null || cellDatabaseId.isEmpty() || currentDatabaseId == null
                || cellDatabaseId.equals(currentDatabaseId) || currentDatabaseId.equals(triedFor)) {
            return;
        }
        startQuietly(currentDatabaseId, who + " holds a lease from database " + Quote.shortened(cellDatabaseId)
                + ", not this one (" + currentDatabaseId + ")");
    }

    /**
     * A cell resumes a watch of this database from {@code fromRevision}, beyond what the replica has
     * read: a replica behind its feed is common, so the database itself is asked; one that never
     * reached the revision lost changes.
     */
    public void cellResumesAt(long fromRevision, long feedRevision, String currentDatabaseId, String who) {
        if (fromRevision <= feedRevision || currentDatabaseId == null || currentDatabaseId.equals(triedFor)) {
            return;
        }
        try {
            Long at = jdbc.queryForObject(SEQUENCE_AT, Long.class);
            if (at != null && fromRevision > at) {
                startQuietly(currentDatabaseId, who + " has seen lease revision " + fromRevision + " of this database, which has reached only "
                        + at + ": it lost changes (restored from an older backup?)");
            }
        } catch (RuntimeException e) {
            log.atWarn().setMessage("could not check a cell's revision against the database").addKeyValue("error", e.getMessage()).log();
        }
    }

    private void startQuietly(String databaseId, String reason) {
        try {
            start(reason);
            triedFor = databaseId;
        } catch (RuntimeException e) {
            log.atWarn().setMessage("could not start the allocation fence").addKeyValue("reason", reason)
                    .addKeyValue("error", e.getMessage()).log();
        }
    }

    /** Starts the fence for this database identity unless it had one; true when this call started it. */
    public boolean start(String reason) {
        List<OffsetDateTime> until = jdbc.query(START_ONCE, (rs, n) -> rs.getObject(1, OffsetDateTime.class),
                seconds(window), reason);
        if (until.isEmpty()) {
            return false;
        }
        started.increment();
        log.atWarn().setMessage("allocation fenced: new cells wait while cells renew their subnets back")
                .addKeyValue("until", until.getFirst().toInstant()).addKeyValue("reason", reason).log();
        return true;
    }

    /** An operator's start: fences for the window from now, whatever came before. */
    public State startByOperator(String reason) {
        String why = "started by an operator" + (reason == null || reason.isBlank() ? "" : ": " + Quote.shortened(reason));
        jdbc.query(START_AGAIN, (rs, n) -> rs.getObject(1, OffsetDateTime.class), seconds(window), why);
        started.increment();
        log.atWarn().setMessage("allocation fenced by an operator").addKeyValue("reason", why).log();
        return state();
    }

    /**
     * An operator's end: new cells are served at once. Refused while a restored copy is still being
     * set up: its fence has not started, and ending nothing now would let it start afterwards for the
     * whole window, the operator believing it over.
     */
    public State endByOperator() {
        if (state().settingUp()) {
            throw new NotSetUp("the database was restored or copied from elsewhere and the controller is still setting it up;"
                    + " its fence starts then: end it after that (GET shows settingUp false)");
        }
        if (!jdbc.query(END, (rs, n) -> rs.getString(1)).isEmpty()) {
            log.atInfo().setMessage("allocation fence ended by an operator").log();
        }
        return state();
    }

    public State state() {
        return jdbc.query(STATE, (rs, n) -> {
            OffsetDateTime until = rs.getObject(2, OffsetDateTime.class);
            return new State(rs.getString(1), until == null ? null : until.toInstant(), rs.getString(3), rs.getBoolean(4),
                    rs.getBoolean(5));
        }).stream().findFirst().orElseThrow(() -> new IllegalStateException("the database has no identity row"));
    }

    /** Throws the retriable refusal when the fence stands: for acquires of cells the table does not know. */
    public void require(String context) {
        Optional<State> fenced = Optional.of(state()).filter(State::active);
        if (fenced.isPresent()) {
            State s = fenced.get();
            refused.increment();
            if (s.until() == null || s.until().isBefore(Instant.now())) {
                throw new Refusal(Refusal.Reason.FENCED, context + ": new leases are fenced (" + s.reason() + "); retry soon");
            }
            long left = Math.max(1, Duration.between(Instant.now(), s.until()).toSeconds());
            throw new Refusal(Refusal.Reason.FENCED, context + ": new leases are fenced for " + left + " s more, until "
                    + s.until() + ", while cells renew their subnets back (" + s.reason() + "); retry then");
        }
    }

    private static double seconds(Duration d) {
        return d.toMillis() / 1000.0;
    }
}
