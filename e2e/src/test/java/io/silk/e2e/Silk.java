package io.silk.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The silk parts as a lab runs them: PKI, the controller, cell daemons and the CNI bin directory. */
public final class Silk {

    public static final String CONTROLLER_IP = "10.77.0.100";

    private final Lab lab;
    private final Path pki;
    private final Path cniBin;

    public Silk(Lab lab, String... cellIps) throws IOException {
        this.lab = lab;
        this.pki = lab.work().resolve("pki");
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", Lab.ROOT.resolve("scripts/dev-pki.sh").toString(),
                pki.toString(), "--server-ip", CONTROLLER_IP));
        cmd.addAll(List.of(cellIps));
        Lab.must(Lab.sh(cmd.toArray(String[]::new)));
        this.cniBin = lab.work().resolve("cni-bin");
        Lab.must(Lab.sh("bash", Lab.ROOT.resolve("cni-plugin/install.sh").toString(), cniBin.toString(),
                System.getProperty("java.home")));
        for (String ref : List.of("bandwidth", "portmap", "tuning", "ptp", "host-local")) {
            Path target = Path.of("/usr/lib/cni", ref);
            if (Files.exists(target)) {
                Files.createSymbolicLink(cniBin.resolve(ref), target);
            }
        }
    }

    public Path cniBin() {
        return cniBin;
    }

    public Path pki() {
        return pki;
    }

    /** Starts the controller (embedded PostgreSQL, mTLS) in its namespace and waits for it. */
    public Process controller(String ns, String... extra) throws IOException {
        return controller(ns, 7443, 9464, "controller", extra);
    }

    /** A controller replica on the given ports (several may share the namespace). */
    public Process controller(String ns, int grpcPort, int httpPort, String logName, String... extra) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(Lab.JAVA, "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-jar", Lab.ROOT.resolve("controller/target/silk-controller-0.1.0-SNAPSHOT.jar").toString(),
                "--spring.grpc.server.port=" + grpcPort, "--server.port=" + httpPort,
                "--silk.controller.embedded-database.data-dir=" + lab.work().resolve("controller-db"),
                "--silk.controller.tls.certificate=" + pki.resolve("server.pem"),
                "--silk.controller.tls.private-key=" + pki.resolve("server-key.pem"),
                "--silk.controller.tls.trust=" + pki.resolve("ca.pem"),
                "--logging.structured.format.console=ecs"));
        cmd.addAll(List.of(extra));
        Process p = lab.spawn(ns, logName, cmd);
        Lab.await(logName + " health", Duration.ofSeconds(90),
                () -> lab.in(ns, "curl", "-fsS", "http://127.0.0.1:" + httpPort + "/actuator/health/readiness").ok() || !p.isAlive());
        if (!p.isAlive()) {
            throw new IllegalStateException(logName + " exited; see " + lab.work().resolve(logName + ".log"));
        }
        return p;
    }

    /** The policy server in the controller's namespace, on the controller's embedded database, without tokens. */
    public Process policyServer(String ns, int dbPort) throws IOException {
        Process p = lab.spawn(ns, "policy-server", List.of(Lab.JAVA, "-Xmx384m", "-jar",
                Lab.ROOT.resolve("policy-server/target/silk-policy-server-0.1.0-SNAPSHOT.jar").toString(),
                "--server.port=4002", "--spring.datasource.url=jdbc:postgresql://127.0.0.1:" + dbPort + "/postgres",
                "--spring.datasource.username=postgres", "--spring.datasource.password=postgres",
                "--silk.policy-server.local-development=true"));
        Lab.await("policy server health", Duration.ofSeconds(90),
                () -> lab.in(ns, "curl", "-fsS", "http://127.0.0.1:4002/actuator/health").ok() || !p.isAlive());
        if (!p.isAlive()) {
            throw new IllegalStateException("policy server exited; see " + lab.work().resolve("policy-server.log"));
        }
        return p;
    }

    /** The silk CLI, run in the controller's namespace against the policy server. */
    public Lab.Result cli(String ns, String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(Lab.JAVA, "-jar", Lab.ROOT.resolve("cli/target/silk.jar").toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--api", "http://127.0.0.1:4002"));
        return lab.in(ns, cmd.toArray(String[]::new));
    }

    /** Where a cell keeps its files. */
    public Path cellDir(String cellIp) {
        return lab.work().resolve("cell-" + cellIp);
    }

    public Path socket(String cellIp) {
        return cellDir(cellIp).resolve("run/cni.sock");
    }

    /** Writes the cell's daemon configuration and starts the daemon; waits until it is healthy. */
    public Process daemon(String ns, String cellIp, String... extraProperties) throws IOException {
        Path dir = Files.createDirectories(cellDir(cellIp));
        Path config = dir.resolve("daemon.properties");
        StringBuilder props = new StringBuilder()
                .append("underlay.ip=").append(cellIp).append('\n')
                .append("controller.addresses=").append(CONTROLLER_IP).append(":7443,").append(CONTROLLER_IP).append(":7444\n")
                .append("tls.ca=").append(pki.resolve("ca.pem")).append('\n')
                .append("tls.certificate=").append(pki.resolve("cell-" + cellIp + ".pem")).append('\n')
                .append("tls.private-key=").append(pki.resolve("cell-" + cellIp + "-key.pem")).append('\n')
                .append("state.dir=").append(dir.resolve("state")).append('\n')
                .append("cni.socket=").append(socket(cellIp)).append('\n')
                .append("health.address=127.0.0.1:9465\n")
                .append("lease.renew-interval=2s\n");
        if (!List.of(extraProperties).stream().anyMatch(p -> p.startsWith("policy.enforce="))) {
            // The overlay tests run no policy server: connectivity, not policy, is under test there.
            props.append("policy.enforce=false\n");
        }
        for (String p : extraProperties) {
            props.append(p).append('\n');
        }
        Files.writeString(config, props);
        Process p = lab.spawn(ns, "daemon-" + cellIp, List.of(Lab.JAVA, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-jar", Lab.ROOT.resolve("cell-daemon/target/silk-cell-daemon.jar").toString(), "run", "--config", config.toString()));
        return p;
    }

    public void awaitHealthy(String ns, Process daemon, String cellIp) {
        Lab.await("daemon " + cellIp + " healthy", Duration.ofSeconds(60),
                () -> lab.in(ns, "curl", "-fsS", "http://127.0.0.1:9465/health").ok() || !daemon.isAlive());
        if (!daemon.isAlive()) {
            throw new IllegalStateException("daemon " + cellIp + " exited; see " + lab.work().resolve("daemon-" + cellIp + ".log"));
        }
    }

    /**
     * Waits until the daemon's lease watch (and with {@code policies} its policy watch too) has
     * received its snapshot, which the daemon reports in its health answer: from then on, changes
     * reach it as pushed events, not in a snapshot of a stream opened later.
     */
    public void awaitWatching(String ns, String cellIp, boolean policies) {
        Lab.await("daemon " + cellIp + " watching", Duration.ofSeconds(30), () -> {
            String h = health(ns);
            return h.contains("\"watching\":true") && (!policies || h.contains("\"policies_watching\":true"));
        });
    }

    public String health(String ns) {
        return lab.in(ns, "curl", "-sS", "http://127.0.0.1:9465/health").output();
    }

    /** The subnet the daemon reports in its health answer. */
    public String subnet(String ns) {
        var m = java.util.regex.Pattern.compile("\"subnet\":\"([^\"]*)\"").matcher(health(ns));
        return m.find() ? m.group(1) : "";
    }

    public Path daemonConfig(String cellIp) {
        return cellDir(cellIp).resolve("daemon.properties");
    }
}
