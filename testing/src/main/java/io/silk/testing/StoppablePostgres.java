package io.silk.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An embedded PostgreSQL that a test stops and starts again under a running service (an outage, a
 * restart): one data directory and one port, kept across restarts, so the service's URL stays
 * right and nothing written is lost.
 */
public final class StoppablePostgres implements AutoCloseable {

    private final Path dataDir;
    private final int port;
    private EmbeddedPostgres running;

    private StoppablePostgres(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    /** A data directory and a free port, not started yet (a service may start before its database). */
    public static StoppablePostgres reserve(String name) {
        try (ServerSocket s = new ServerSocket(0)) {
            return new StoppablePostgres(Files.createTempDirectory(name), s.getLocalPort());
        } catch (IOException e) {
            throw new UncheckedIOException("reserve a data directory and a port for " + name, e);
        }
    }

    /** Starts it, on its data directory and port; returns this. */
    public StoppablePostgres start() {
        if (running == null) {
            running = TestPostgres.start(dataDir, port);
        }
        return this;
    }

    /** Stops it as a crash would look to its clients: their connections break. */
    public void stop() {
        if (running != null) {
            try {
                running.close();
            } catch (IOException e) {
                throw new UncheckedIOException("stop embedded PostgreSQL on port " + port, e);
            }
            running = null;
        }
    }

    /** Where services reach it, started or not. */
    public TestPostgres.Database database() {
        return new TestPostgres.Database("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "postgres");
    }

    @Override
    public void close() {
        stop();
    }
}
