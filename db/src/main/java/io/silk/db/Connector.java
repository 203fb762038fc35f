package io.silk.db;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Opens a connection of a component's own, outside the pool: a LISTEN or a signalling connection
 * is held for good, and a pool would count it against the callers it serves.
 */
@FunctionalInterface
public interface Connector {
    Connection connect() throws SQLException;
}
