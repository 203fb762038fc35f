package io.silk.policy.log;

import io.silk.db.ChangeSignal;
import io.silk.policy.tag.AppTags;
import io.silk.policy.web.ApiError;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.List;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every policy write, of every kind: one call of the kind's SQL function (db/migrations
 * V5__policy_writes.sql) in its own implicit transaction, which tags new apps, writes the rows
 * and appends their events; then, once it committed, one coalesced signal that wakes the
 * controllers' policy feeds, and after a delete the release of tags no policy needs any more.
 * Rows travel as one JSON array, their record components in snake case.
 */
@Component
public class PolicyLogWriter {

    /** A kind of policy and the SQL functions that write it. */
    public enum Kind {
        C2C("c2c"), EGRESS("egress");

        private final String create;
        private final String delete;

        Kind(String name) {
            this.create = "SELECT create_" + name + "_policies(CAST(:rows AS jsonb)" + (name.equals("c2c") ? ", :quota)" : ")");
            this.delete = "SELECT unnest(delete_" + name + "_policies(CAST(:rows AS jsonb)))";
        }
    }

    private static final JsonMapper ROWS = JsonMapper.builder().propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();

    private final JdbcClient db;
    private final ChangeSignal signal;
    private final AppTags tags;

    public PolicyLogWriter(JdbcClient db, ChangeSignal signal, AppTags tags) {
        this.db = db;
        this.signal = signal;
        this.tags = tags;
    }

    /**
     * Creates the policies that do not exist yet. {@code quota}: the most policies one source may
     * have afterwards (c2c only), null for no limit. Returns how many were created.
     */
    public int create(Kind kind, List<?> rows, Integer quota) {
        var call = db.sql(kind.create).param("rows", ROWS.writeValueAsString(rows));
        if (kind == Kind.C2C) {
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

    /** Deletes those of the policies that exist and frees the tags nothing names now. Returns how many were deleted. */
    public int delete(Kind kind, List<?> rows) {
        List<String> apps = db.sql(kind.delete).param("rows", ROWS.writeValueAsString(rows)).query(String.class).list();
        if (apps.isEmpty()) {
            return 0;
        }
        signal.changed();
        tags.releaseUnused(new LinkedHashSet<>(apps));
        return kind == Kind.C2C ? apps.size() / 2 : apps.size();
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
