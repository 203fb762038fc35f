package io.silk.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL for tests: the server named by SILK_TEST_DATABASE_URL (a JDBC URL of a
 * database whose user may CREATE DATABASE; user and password from SILK_TEST_DATABASE_USER and
 * SILK_TEST_DATABASE_PASSWORD), else one embedded server shared by the whole test JVM. Every
 * caller gets a database of its own.
 */
public final class TestPostgres {

    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static Server shared;

    public record Database(String url, String user, String password) {
        public Connection connect() throws SQLException {
            return DriverManager.getConnection(url, user, password);
        }
    }

    private record Server(String baseUrl, String user, String password) {}

    private TestPostgres() {}

    /** A fresh, empty database on the shared server. */
    public static synchronized Database newDatabase() {
        Server server = server();
        String name = "silk_test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        try (Connection c = DriverManager.getConnection(server.baseUrl(), server.user(), server.password());
             Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("create test database " + name + ": " + e.getMessage(), e);
        }
        String url = server.baseUrl().replaceFirst("/[^/?]*(\\?|$)", "/" + name + "$1");
        return new Database(url, server.user(), server.password());
    }

    private static Server server() {
        if (shared != null) {
            return shared;
        }
        String url = System.getenv("SILK_TEST_DATABASE_URL");
        if (url != null && !url.isBlank()) {
            shared = new Server(url, System.getenv().getOrDefault("SILK_TEST_DATABASE_USER", "postgres"),
                    System.getenv().getOrDefault("SILK_TEST_DATABASE_PASSWORD", "postgres"));
            return shared;
        }
        EmbeddedPostgres pg = start(null, 0);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                pg.close();
            } catch (IOException ignored) {
                // The JVM is going anyway.
            }
        }));
        shared = new Server(pg.getJdbcUrl("postgres", "postgres"), "postgres", "postgres");
        return shared;
    }

    /** An embedded server of the caller's own, for tests that stop and restart it. */
    public static EmbeddedPostgres start(Path dataDir, int port) {
        try {
            EmbeddedPostgres.Builder b = EmbeddedPostgres.builder();
            if (dataDir != null) {
                b.setDataDirectory(dataDir.toFile()).setCleanDataDirectory(false);
            }
            if (port > 0) {
                b.setPort(port);
            }
            return b.start();
        } catch (IOException e) {
            throw new UncheckedIOException("start embedded PostgreSQL", e);
        }
    }
}
