package io.silk.controller.feed;

import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * What one event log is — its table, how to read a row, what an event means for the current
 * state — so that one {@link ChangeFeed}, one {@link RevisionOrderedReader}, one
 * {@link WatchSession} and one compaction serve every kind of change. A new kind of change is a
 * small implementation of this plus its append function in the migrations.
 *
 * @param <K> what identifies one thing across its events (a cell, a policy)
 * @param <E> one event
 */
public interface EventLog<K, E> {

    /** Short name: the {@code event_horizon} row, log and thread names ("lease", "policy"). */
    String name();

    /** The table the log's append function writes. */
    String table();

    /** The revision sequence the append function draws from. */
    String sequence();

    /** The NOTIFY channel writers signal after commit. */
    String channel();

    /** The table's columns that identify a thing ({@link #key}), comma-separated; compaction joins on them. */
    String keyColumns();

    /** The column list read for each event, in the order {@link #read} expects. */
    String columns();

    E read(ResultSet rs) throws SQLException;

    long revision(E event);

    K key(E event);

    /** True when the event ends the thing (a tombstone): it leaves the current state. */
    boolean removes(E event);

    /** True when the thing, as of this event, belongs in a snapshot (an expired lease does not). */
    boolean live(E event);
}
