package io.silk.policy.securitygroup;

import io.silk.db.ChangeSignal;
import io.silk.policy.web.ApiError;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

/**
 * Security groups and their bindings in the policy database. Every write goes through the V7
 * functions (which append the policy-log events cells receive) in one transaction, and once it
 * committed one coalesced signal wakes the controllers' policy feeds.
 */
@Component
public class SecurityGroupStore {

    /** A space's containers of one lifecycle get the groups bound to the space for it. */
    public enum Lifecycle {
        RUNNING, STAGING;

        public String sql() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A group as stored: its cf rules as JSON text, its bindings by lifecycle (space guids, sorted). */
    public record Stored(long id, UUID guid, String name, String rules, boolean runningDefault, boolean stagingDefault,
            Instant createdAt, Instant updatedAt, List<String> runningSpaces, List<String> stagingSpaces) {}

    /** A group as written: its rules as cf has them and parsed. */
    public record Group(UUID guid, String name, String rules, List<SecurityGroupRules.Entry> entries, boolean runningDefault,
            boolean stagingDefault) {}

    /** What to list; empty lists and null flags do not filter. */
    public record Filter(List<UUID> guids, List<String> names, Boolean runningDefault, Boolean stagingDefault,
            List<String> runningSpaces, List<String> stagingSpaces) {
        public static final Filter ALL = new Filter(List.of(), List.of(), null, null, List.of(), List.of());
    }

    private static final JsonMapper SNAKE = JsonMapper.builder().propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();
    private static final String COLUMNS = "g.id, g.guid, g.name, g.rules::text, g.running_default, g.staging_default,"
            + " g.created_at, g.updated_at,"
            + " ARRAY(SELECT space_guid FROM security_group_space s WHERE s.security_group_id = g.id AND s.lifecycle = 'running' ORDER BY 1),"
            + " ARRAY(SELECT space_guid FROM security_group_space s WHERE s.security_group_id = g.id AND s.lifecycle = 'staging' ORDER BY 1)";

    private final JdbcClient db;
    private final TransactionTemplate tx;
    private final ChangeSignal signal;

    public SecurityGroupStore(JdbcClient db, TransactionTemplate tx, ChangeSignal signal) {
        this.db = db;
        this.tx = tx;
        this.signal = signal;
    }

    /**
     * Creates or replaces the group and adds bindings, in one transaction. Returns true when
     * anything changed.
     */
    public boolean put(Group g, List<String> runningSpaces, List<String> stagingSpaces) {
        return write(() -> {
            boolean changed = Boolean.TRUE.equals(db.sql("SELECT put_security_group(?, ?, CAST(? AS jsonb), CAST(? AS jsonb), ?, ?)")
                    .params(g.guid(), g.name(), g.rules(), SNAKE.writeValueAsString(g.entries()), g.runningDefault(),
                            g.stagingDefault()).query(Boolean.class).single());
            Integer running = bindNow(g.guid(), runningSpaces, Lifecycle.RUNNING);
            Integer staging = bindNow(g.guid(), stagingSpaces, Lifecycle.STAGING);
            return changed || (running != null && running > 0) || (staging != null && staging > 0);
        });
    }

    /** A group as the Cloud Controller has it: the group and exactly these bindings. */
    public record Mirrored(Group group, List<String> runningSpaces, List<String> stagingSpaces) {}

    /** What {@link #mirror} changed. */
    public record MirrorResult(int groupsWritten, int groupsDeleted, int bindingsMade, int bindingsUndone) {
        public boolean changed() {
            return groupsWritten + groupsDeleted + bindingsMade + bindingsUndone > 0;
        }
    }

    /** Syncers of several policy servers take turns (a transaction-scoped advisory lock: "silk_sgs"). */
    private static final long MIRROR_LOCK = 0x73696c6b5f736773L;

    /**
     * Makes the stored groups exactly {@code groups}, in one transaction: every other group goes
     * (except those in {@code keep}, left as they are), each group is created or replaced, and its
     * bindings become exactly the given ones. Through the V7 functions, so only what differs
     * appends an event: mirroring the same groups again appends none. Names are checked at commit
     * (V9), so groups may have swapped names since the last mirror.
     */
    public MirrorResult mirror(List<Mirrored> groups, java.util.Set<UUID> keep) {
        return write(() -> {
            db.sql("SELECT 1 FROM pg_advisory_xact_lock(?)").param(MIRROR_LOCK).query(Integer.class).single();
            db.sql("SET CONSTRAINTS security_group_name_key DEFERRED").update();
            java.util.Map<UUID, Stored> now = new java.util.HashMap<>();
            db.sql("SELECT " + COLUMNS + " FROM security_group g").query(SecurityGroupStore::stored).list()
                    .forEach(g -> now.put(g.guid(), g));
            java.util.Set<UUID> wanted = new java.util.HashSet<>();
            groups.forEach(m -> wanted.add(m.group().guid()));
            int deleted = 0;
            for (UUID gone : now.keySet()) {
                if (!wanted.contains(gone) && !keep.contains(gone)
                        && Boolean.TRUE.equals(db.sql("SELECT delete_security_group(?)").param(gone).query(Boolean.class).single())) {
                    deleted++;
                }
            }
            int written = 0;
            int made = 0;
            int undone = 0;
            for (Mirrored m : groups) {
                Group g = m.group();
                if (Boolean.TRUE.equals(db.sql("SELECT put_security_group(?, ?, CAST(? AS jsonb), CAST(? AS jsonb), ?, ?)")
                        .params(g.guid(), g.name(), g.rules(), SNAKE.writeValueAsString(g.entries()), g.runningDefault(),
                                g.stagingDefault()).query(Boolean.class).single())) {
                    written++;
                }
                Stored before = now.get(g.guid());
                for (Lifecycle l : Lifecycle.values()) {
                    List<String> want = (l == Lifecycle.RUNNING ? m.runningSpaces() : m.stagingSpaces()).stream().distinct().toList();
                    List<String> have = before == null ? List.of() : l == Lifecycle.RUNNING ? before.runningSpaces() : before.stagingSpaces();
                    List<String> add = want.stream().filter(s -> !have.contains(s)).toList();
                    List<String> drop = have.stream().filter(s -> !want.contains(s)).toList();
                    Integer bound = bindNow(g.guid(), add, l);
                    made += bound == null ? 0 : bound;
                    if (!drop.isEmpty()) {
                        undone += db.sql("SELECT unbind_security_group(?, CAST(? AS jsonb), ?)").params(g.guid(),
                                SNAKE.writeValueAsString(drop), l.sql()).query(Integer.class).single();
                    }
                }
            }
            return new MirrorResult(written, deleted, made, undone);
        }, MirrorResult::changed);
    }

    /** Binds the group to the spaces; empty when there is no such group, else how many bindings were made. */
    public Optional<Integer> bind(UUID guid, List<String> spaces, Lifecycle lifecycle) {
        Integer[] made = new Integer[1];
        write(() -> {
            made[0] = bindNow(guid, spaces, lifecycle);
            return made[0] != null && made[0] > 0;
        });
        return Optional.ofNullable(made[0]);
    }

    /** Undoes bindings; returns how many went. */
    public int unbind(UUID guid, List<String> spaces, Lifecycle lifecycle) {
        int[] gone = new int[1];
        write(() -> {
            gone[0] = db.sql("SELECT unbind_security_group(?, CAST(? AS jsonb), ?)").params(guid, SNAKE.writeValueAsString(spaces),
                    lifecycle.sql()).query(Integer.class).single();
            return gone[0] > 0;
        });
        return gone[0];
    }

    /** Deletes the group and its bindings; false when there was none. */
    public boolean delete(UUID guid) {
        return write(() -> Boolean.TRUE.equals(db.sql("SELECT delete_security_group(?)").param(guid).query(Boolean.class).single()));
    }

    public Optional<Stored> find(UUID guid) {
        return db.sql("SELECT " + COLUMNS + " FROM security_group g WHERE g.guid = ?").param(guid).query(SecurityGroupStore::stored)
                .optional();
    }

    /** One page of the groups the filter selects, in creation order, and how many it selects in all. */
    public record Page(List<Stored> groups, long total) {}

    public Page list(Filter f, int offset, int limit) {
        List<String> where = new ArrayList<>();
        List<Object> params = new ArrayList<>();
        if (!f.guids().isEmpty()) {
            where.add("g.guid = ANY(?)");
            params.add(f.guids().toArray(UUID[]::new));
        }
        if (!f.names().isEmpty()) {
            where.add("g.name = ANY(?)");
            params.add(f.names().toArray(String[]::new));
        }
        if (f.runningDefault() != null) {
            where.add("g.running_default = ?");
            params.add(f.runningDefault());
        }
        if (f.stagingDefault() != null) {
            where.add("g.staging_default = ?");
            params.add(f.stagingDefault());
        }
        bound(f.runningSpaces(), Lifecycle.RUNNING, where, params);
        bound(f.stagingSpaces(), Lifecycle.STAGING, where, params);
        String condition = where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where);
        long total = db.sql("SELECT count(*) FROM security_group g" + condition).params(params).query(Long.class).single();
        List<Object> paged = new ArrayList<>(params);
        paged.add(limit);
        paged.add(offset);
        List<Stored> groups = db.sql("SELECT " + COLUMNS + " FROM security_group g" + condition + " ORDER BY g.id LIMIT ? OFFSET ?")
                .params(paged).query(SecurityGroupStore::stored).list();
        return new Page(groups, total);
    }

    /**
     * cf's internal listing: the groups bound to any of the spaces (either lifecycle) plus the
     * globally enabled ones, or every group when no space is named; from id {@code from} upward.
     */
    public List<Stored> forSpaces(List<String> spaces, long from, int limit) {
        String condition = spaces.isEmpty() ? "" : " AND (g.running_default OR g.staging_default OR EXISTS (SELECT 1 FROM"
                + " security_group_space s WHERE s.security_group_id = g.id AND s.space_guid = ANY(?)))";
        List<Object> params = new ArrayList<>();
        params.add(from);
        if (!spaces.isEmpty()) {
            params.add(spaces.toArray(String[]::new));
        }
        params.add(limit);
        return db.sql("SELECT " + COLUMNS + " FROM security_group g WHERE g.id >= ?" + condition + " ORDER BY g.id LIMIT ?")
                .params(params).query(SecurityGroupStore::stored).list();
    }

    private static void bound(List<String> spaces, Lifecycle lifecycle, List<String> where, List<Object> params) {
        if (!spaces.isEmpty()) {
            where.add("EXISTS (SELECT 1 FROM security_group_space s WHERE s.security_group_id = g.id AND s.lifecycle = '"
                    + lifecycle.sql() + "' AND s.space_guid = ANY(?))");
            params.add(spaces.toArray(String[]::new));
        }
    }

    private Integer bindNow(UUID guid, List<String> spaces, Lifecycle lifecycle) {
        if (spaces.isEmpty()) {
            return 0;
        }
        return db.sql("SELECT bind_security_group(?, CAST(? AS jsonb), ?)").params(guid, SNAKE.writeValueAsString(spaces),
                lifecycle.sql()).query(Integer.class).optional().orElse(null);
    }

    /** One transaction; the signal after it committed, when it changed anything. */
    private boolean write(Supplier<Boolean> work) {
        return Boolean.TRUE.equals(write(work, Boolean.TRUE::equals));
    }

    private <T> T write(Supplier<T> work, java.util.function.Predicate<T> changedAnything) {
        T result;
        try {
            result = tx.execute(status -> work.get());
        } catch (DataAccessException e) {
            if (e.getMostSpecificCause() instanceof SQLException s && "SLK04".equals(s.getSQLState())) {
                throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, s.getMessage().replaceFirst("(?s)^ERROR: ", "")
                        .replaceFirst("(?s)\\n.*", ""));
            }
            throw e;
        }
        if (result != null && changedAnything.test(result)) {
            signal.changed();
        }
        return result;
    }

    private static Stored stored(ResultSet rs, int row) throws SQLException {
        return new Stored(rs.getLong(1), rs.getObject(2, UUID.class), rs.getString(3), rs.getString(4), rs.getBoolean(5),
                rs.getBoolean(6), rs.getTimestamp(7).toInstant(), rs.getTimestamp(8).toInstant(), strings(rs.getArray(9)),
                strings(rs.getArray(10)));
    }

    private static List<String> strings(Array a) throws SQLException {
        return List.of((String[]) a.getArray());
    }
}
