package io.silk.load;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The controller the simulations load: by default the packaged jar started here on loopback with
 * its embedded PostgreSQL and mTLS (development certificates); or the replicas named by
 * -Dsilk.load.controllers=host:port,... with -Dsilk.load.pki=DIR (ca.pem, operator.pem, operator-key.pem).
 */
final class ControllerUnderTest implements AutoCloseable {

    static final Path ROOT = Path.of(System.getProperty("silk.root", "..")).toAbsolutePath().normalize();

    final List<String> addresses;
    final Path pki;
    /** JDBC URL of the controller's database, null when not known (external controllers). */
    final String databaseUrl;
    /** Base URL of the controller's actuator, null for external controllers. */
    final String actuator;
    /** The replicas started here, the first owning the embedded PostgreSQL; empty for external controllers. */
    private final List<Process> processes;
    private final Path dataDir;
    private SslContext tls;

    private ControllerUnderTest(List<String> addresses, Path pki, String databaseUrl, String actuator, List<Process> processes,
            Path dataDir) {
        this.addresses = addresses;
        this.dataDir = dataDir;
        this.pki = pki;
        this.databaseUrl = databaseUrl;
        this.actuator = actuator;
        this.processes = processes;
    }

    /** The first replica's process, when started here. */
    java.util.Optional<ProcessTree> process() {
        return processes.stream().findFirst().map(p -> new ProcessTree(p.pid()));
    }

    /**
     * Connections open to the controllers' database now (every client backend but this query's):
     * a replica's must not grow with the cells it serves. -1 when the database is not known.
     */
    int databaseConnections() {
        if (databaseUrl == null) {
            return -1;
        }
        try (var c = java.sql.DriverManager.getConnection(databaseUrl);
             var s = c.createStatement();
             var rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                     + " AND pid <> pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("count the database's connections: " + e.getMessage(), e);
        }
    }

    /** Every replica's process started here. */
    List<ProcessTree> replicas() {
        return processes.stream().map(p -> new ProcessTree(p.pid())).toList();
    }

    /** The embedded PostgreSQL's postmaster (pg_ctl detaches it from the controller), when started here. */
    java.util.Optional<ProcessTree> database() {
        if (dataDir == null) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(new ProcessTree(Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).getFirst().trim())));
        } catch (Exception e) {
            throw new IllegalStateException("read the embedded PostgreSQL's pid in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    static ControllerUnderTest startOrConnect(String network) throws Exception {
        return startOrConnect(network, List.of());
    }

    /** The same, with more controller arguments (e.g. a fixed embedded-database port for a policy server to share). */
    static ControllerUnderTest startOrConnect(String network, List<String> extraArgs) throws Exception {
        String external = System.getProperty("silk.load.controllers");
        if (external != null && !external.isBlank()) {
            return new ControllerUnderTest(List.of(external.split(",")), Path.of(System.getProperty("silk.load.pki")),
                    System.getProperty("silk.load.database-url"), null, List.of(), null);
        }
        Path work = Files.createTempDirectory("silk-load");
        Path pki = work.resolve("pki");
        Process certs = new ProcessBuilder("bash", ROOT.resolve("scripts/dev-pki.sh").toString(), pki.toString())
                .inheritIO().start();
        if (certs.waitFor() != 0) {
            throw new IllegalStateException("dev-pki.sh failed");
        }
        int database = freePort();
        // -Dsilk.load.replicas=N: more replicas on the first one's database, the load spread over all.
        int replicas = Integer.getInteger("silk.load.replicas", 1);
        List<Process> processes = new java.util.ArrayList<>();
        List<String> addresses = new java.util.ArrayList<>();
        String actuator = null;
        try {
            for (int r = 0; r < replicas; r++) {
                int grpc = freePort();
                int http = freePort();
                List<String> args = new java.util.ArrayList<>(List.of("--spring.grpc.server.port=" + grpc, "--server.port=" + http,
                        "--silk.controller.lease.network=" + network,
                        "--silk.controller.tls.certificate=" + pki.resolve("server.pem"),
                        "--silk.controller.tls.private-key=" + pki.resolve("server-key.pem"),
                        "--silk.controller.tls.trust=" + pki.resolve("ca.pem"),
                        "--logging.level.io.silk=WARN"));
                args.addAll(r == 0
                        ? List.of("--silk.controller.embedded-database.data-dir=" + work.resolve("db"),
                                "--silk.controller.embedded-database.port=" + database)
                        : List.of("--spring.datasource.url=jdbc:postgresql://localhost:" + database + "/postgres",
                                "--spring.datasource.username=postgres", "--spring.datasource.password=postgres"));
                args.addAll(extraArgs);
                processes.add(startReplica(args, work.resolve("controller-" + (r + 1) + ".log"), http));
                addresses.add("localhost:" + grpc);
                if (r == 0) {
                    actuator = "http://127.0.0.1:" + http + "/actuator";
                }
            }
        } catch (Exception e) {
            processes.reversed().forEach(Process::destroyForcibly);
            throw e;
        }
        return new ControllerUnderTest(addresses, pki, "jdbc:postgresql://localhost:" + database + "/postgres?user=postgres",
                actuator, processes, work.resolve("db"));
    }

    private static Process startReplica(List<String> args, Path log, int http) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new java.util.ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx1g"));
        // e.g. -Dsilk.load.controller-jvm-args=-XX:StartFlightRecording=filename=/tmp/controller.jfr to profile it
        String jvmArgs = System.getProperty("silk.load.controller-jvm-args", "");
        if (!jvmArgs.isBlank()) {
            command.addAll(List.of(jvmArgs.trim().split("\\s+")));
        }
        command.addAll(List.of("-jar", ROOT.resolve("controller/target/silk-controller-0.1.0-SNAPSHOT.jar").toString()));
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient client = HttpClient.newHttpClient();
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("controller exited; see " + log);
            }
            try {
                if (client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/actuator/health/readiness")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return p;
                }
            } catch (Exception notYet) {
                // starting
            }
            if (System.currentTimeMillis() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("controller not ready after 120 s; see " + log);
            }
            Thread.sleep(200);
        }
    }

    /** A channel to replica i (round robin), as the operator. */
    ManagedChannel channel(int i) throws Exception {
        String address = addresses.get(Math.floorMod(i, addresses.size()));
        int colon = address.lastIndexOf(':');
        return NettyChannelBuilder.forAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)))
                .sslContext(tls())
                .build();
    }

    /** A new connection for each simulated cell that asks, round robin over the replicas. */
    java.util.function.Supplier<ManagedChannel> cellConnections() {
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        return () -> {
            int i = next.getAndIncrement();
            try {
                return channel(i);
            } catch (Exception e) {
                throw new IllegalStateException("connect simulated cell " + i + ": " + e.getMessage(), e);
            }
        };
    }

    /** One client TLS context for every channel: thousands of simulated cells share it. */
    private synchronized SslContext tls() throws Exception {
        if (tls == null) {
            tls = GrpcSslContexts.forClient().trustManager(new File(pki.toFile(), "ca.pem"))
                    .keyManager(new File(pki.toFile(), "operator.pem"), new File(pki.toFile(), "operator-key.pem")).build();
        }
        return tls;
    }

    /** Heap in use right after a full GC (jcmd GC.run, then the controller's own metrics), in bytes. */
    long heapAfterGc() throws Exception {
        if (processes.isEmpty()) {
            throw new IllegalStateException("heap is only read from a controller started here");
        }
        Process process = processes.getFirst();
        Process gc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(process.pid()), "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!gc.waitFor(60, TimeUnit.SECONDS) || gc.exitValue() != 0) {
            throw new IllegalStateException("jcmd GC.run failed for the controller");
        }
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(actuator + "/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        long used = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                used += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return used;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        // The first replica owns the embedded database: stop it last.
        for (Process p : processes.reversed()) {
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
