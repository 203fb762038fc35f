package io.silk.policy.log;

import io.silk.db.ChangeSignal;
import io.silk.policy.web.ApiError;
import java.sql.SQLException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every policy write, of every kind: one call of the kind's SQL function (db/migrations
 * V5__policy_writes.sql) in its own implicit transaction, which tags new apps, writes the rows
 * and appends their events; then, once it committed, one coalesced signal that wakes the
 * controllers' policy feeds, and after a delete the release of the tags of apps no policy names
 * any more (freed tags are reused, lowest first).
 * Rows travel as one JSON array, their record components in snake case.
 */
@Component
public class PolicyLogWriter {

    /** A kind of policy and the SQL functions that write it. */
    public enum Kind {
        /** App → app policies, with the per-source quota. */
        C2C("c2c", true),
        /** Egress policies (network.admin only, no quota). */
        EGRESS("egress", false);

        private final String create;
        private final String delete;
        private final boolean quota;

        Kind(String name, boolean quota) {
            this.quota = quota;
            this.create = "SELECT create_" + name + "_policies(CAST(:rows AS jsonb)" + (quota ? ", :quota)" : ")");
            this.delete = "SELECT deleted, unnamed_apps FROM delete_" + name + "_policies(CAST(:rows AS jsonb))";
        }
    }

    private static final JsonMapper ROWS = JsonMapper.builder().propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();

    private static final String RELEASE = "SELECT release_unused_tags(CAST(:apps AS jsonb))";
    private static final Logger log = LoggerFactory.getLogger(PolicyLogWriter.class);

    private final JdbcClient db;
    private final ChangeSignal signal;

    public PolicyLogWriter(JdbcClient db, ChangeSignal signal) {
        this.db = db;
        this.signal = signal;
    }

    /**
     * Creates the policies that do not exist yet. {@code quota}: the most policies one source may
     * have afterwards (c2c only), null for no limit. Returns how many were created.
     */
    public int create(Kind kind, List<?> rows, Integer quota) {
        var call = db.sql(kind.create).param("rows", ROWS.writeValueAsString(rows));
        if (kind.quota) {
            call = call.param("quota", quota, java.sql.Types.INTEGER);
        }
        int created;
        try {
            created = call.query(Integer.class).single();
        } catch (DataAccessException e) {
            throw refusal(e);
        }
        if (created > 0) {
            signal.changed();
        }
        return created;
    }

    /** Deletes those of the policies that exist, then frees the tags of the apps no policy names now. */
    public void delete(Kind kind, List<?> rows) {
        Deleted d = db.sql(kind.delete).param("rows", ROWS.writeValueAsString(rows))
                .query((rs, n) -> new Deleted(rs.getInt(1), List.of((String[]) rs.getArray(2).getArray()))).single();
        if (d.count() > 0) {
            signal.changed();
        }
        if (!d.unnamedApps().isEmpty()) {
            releaseTags(d.unnamedApps());
        }
    }

    private record Deleted(int count, List<String> unnamedApps) {}

    /**
     * After the deleting write committed. A write naming one of the apps meanwhile makes the
     * release fail on the foreign key (release_unused_tags): then the others are freed one by one.
     */
    private void releaseTags(List<String> apps) {
        try {
            freed(db.sql(RELEASE).param("apps", ROWS.writeValueAsString(apps)).query(String.class).list());
        } catch (DataIntegrityViolationException raced) {
            for (String app : apps) {
                try {
                    freed(db.sql(RELEASE).param("apps", ROWS.writeValueAsString(List.of(app))).query(String.class).list());
                } catch (DataIntegrityViolationException stillNamed) {
                    log.atDebug().setMessage("tag still in use").addKeyValue("app", app).log();
                }
            }
        }
    }

    private static void freed(List<String> apps) {
        apps.forEach(app -> log.atDebug().setMessage("tag freed").addKeyValue("app", app).log());
    }

    /** The write functions' own refusals (SQLSTATE class SLK) in the API's terms; anything else as it was. */
    private static RuntimeException refusal(DataAccessException e) {
        String state = null;
        for (Throwable t = e; t != null && state == null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                state = s.getSQLState();
            }
        }
        return switch (state == null ? "" : state) {
            case "SLK01" -> ApiError.forbidden("policy quota exceeded");
            case "SLK02" -> new ApiError(HttpStatus.INSUFFICIENT_STORAGE, "all 65535 tags are in use: no new app can be named in a policy");
            default -> e;
        };
    }
}
