package io.silk.controller.feed;

import io.silk.controller.database.DatabaseReadiness;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.stereotype.Component;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Compacts every event log behind its horizon, so that the log holds about one event per live
 * thing and start-up reads a snapshot's worth, whatever the history. Two steps per log, each in
 * batches, one replica at a time:
 * <ol>
 *   <li>an event superseded by a later event for the same thing goes once it is older than
 *       {@code superseded-keep} (a watch resuming before it gets the later event, which says all);</li>
 *   <li>a tombstone (a DELETED event) goes once it is older than {@code retention}, and the
 *       horizon rises above it: a watch resuming from below the horizon would miss the deletion,
 *       so it gets a snapshot instead.</li>
 * </ol>
 * Every log table has {@code revision}, {@code kind} and {@code occurred_at}; tombstones are kind 'DELETED'.
 */
@Component
public class EventLogCompaction implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(EventLogCompaction.class);
    private static final int BATCH = 10_000;

    private final List<ChangeFeed<?, ?>> feeds;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final DatabaseReadiness readiness;
    private final TaskScheduler scheduler;
    private final EventLogProperties properties;

    public EventLogCompaction(List<ChangeFeed<?, ?>> feeds, DataSource dataSource, TransactionTemplate tx,
            DatabaseReadiness readiness, TaskScheduler scheduler, EventLogProperties properties) {
        this.feeds = feeds;
        this.jdbc = new JdbcTemplate(dataSource);
        this.tx = tx;
        this.readiness = readiness;
        this.scheduler = scheduler;
        this.properties = properties;
    }

    @Override
    public void afterSingletonsInstantiated() {
        scheduler.scheduleWithFixedDelay(this::compactAll, Instant.now().plus(properties.compactionInterval()),
                properties.compactionInterval());
    }

    public void compactAll() {
        if (!readiness.ready()) {
            return;
        }
        for (ChangeFeed<?, ?> feed : feeds) {
            try {
                compact(feed.eventLog(), properties.supersededKeep(), properties.retention());
            } catch (DataAccessException | TransactionException e) {
                log.atWarn().setMessage("event log compaction failed, will retry").addKeyValue("event_log", feed.eventLog().name())
                        .addKeyValue("error", String.valueOf(e.getMostSpecificCause().getMessage())).log();
            }
        }
    }

    /** Compacts one log; returns the events dropped, or -1 when another replica is compacting it. */
    public long compact(EventLog<?, ?> eventLog, Duration supersededKeep, Duration retention) {
        String t = eventLog.table();
        StringBuilder sameThing = new StringBuilder();
        for (String column : eventLog.keyColumns().split(",")) {
            sameThing.append(" AND newer.").append(column.trim()).append(" = e.").append(column.trim());
        }
        String superseded = "DELETE FROM " + t + " WHERE revision IN (SELECT e.revision FROM " + t + " e"
                + " WHERE e.occurred_at < now() - make_interval(secs => ?) AND EXISTS (SELECT 1 FROM " + t + " newer"
                + " WHERE newer.revision > e.revision" + sameThing + ") LIMIT " + BATCH + ")";
        String tombstones = "WITH gone AS (DELETE FROM " + t + " WHERE revision IN (SELECT revision FROM " + t
                + " WHERE kind = 'DELETED' AND occurred_at < now() - make_interval(secs => ?) ORDER BY revision LIMIT " + BATCH + ")"
                + " RETURNING revision)"
                + " UPDATE event_horizon SET revision = GREATEST(revision, (SELECT max(revision) FROM gone))"
                + " WHERE log = ? AND EXISTS (SELECT 1 FROM gone)";
        String count = "SELECT count(*) FROM " + t + " WHERE kind = 'DELETED' AND occurred_at < now() - make_interval(secs => ?)";
        String lock = "SELECT pg_try_advisory_xact_lock(hashtext('silk.event_log.compaction.' || ?))";
        long dropped = 0;
        double keepSeconds = supersededKeep.toMillis() / 1000.0;
        double retentionSeconds = retention.toMillis() / 1000.0;
        while (true) {
            Integer n = tx.execute(status -> {
                if (!Boolean.TRUE.equals(jdbc.queryForObject(lock, Boolean.class, eventLog.name()))) {
                    return -1;
                }
                return jdbc.update(superseded, keepSeconds);
            });
            if (n == null || n < 0) {
                return -1;
            }
            dropped += n;
            if (n < BATCH) {
                break;
            }
        }
        while (true) {
            Long due = jdbc.queryForObject(count, Long.class, retentionSeconds);
            if (due == null || due == 0) {
                break;
            }
            Boolean locked = tx.execute(status -> {
                if (!Boolean.TRUE.equals(jdbc.queryForObject(lock, Boolean.class, eventLog.name()))) {
                    return false;
                }
                jdbc.update(tombstones, retentionSeconds, eventLog.name());
                return true;
            });
            if (!Boolean.TRUE.equals(locked)) {
                return -1;
            }
            dropped += Math.min(due, BATCH);
        }
        if (dropped > 0) {
            log.atDebug().setMessage("event log compacted").addKeyValue("event_log", eventLog.name()).addKeyValue("dropped", dropped).log();
        }
        return dropped;
    }
}
