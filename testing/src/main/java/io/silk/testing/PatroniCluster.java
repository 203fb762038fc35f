package io.silk.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real three-node PostgreSQL cluster under Patroni and etcd, for the tests and benchmarks of
 * the high-availability deployment: {@code scripts/ha-cluster.sh} (the same script as
 * {@code ./dev ha}) run with its data in a directory of the test's and on ports of its own. Needs
 * root and the Debian packages the script names. {@link #close} stops what it started, and is
 * safe to call twice.
 */
public final class PatroniCluster implements AutoCloseable {

    /** How the primary is killed: its whole node (Patroni and PostgreSQL), or PostgreSQL alone. */
    public enum Fault { NODE, POSTGRES }

    /** A member as Patroni lists it: role Leader, Sync_Standby or Replica; state running, stopped... */
    public record Member(String name, String role, String state, String lagMb) {}

    private static final Path SCRIPT = findScript();

    private final Path dir;
    private final int portBase;
    private final String jdbcUrl;
    private boolean closed;

    private PatroniCluster(Path dir, int portBase, String jdbcUrl) {
        this.dir = dir;
        this.portBase = portBase;
        this.jdbcUrl = jdbcUrl;
    }

    /** Brings the cluster up in {@code dir} (a leader and two streaming replicas, one synchronous). */
    public static PatroniCluster start(Path dir) {
        // Ports of its own, away from ./dev ha's defaults, so a developer's cluster may run alongside.
        int base = Integer.getInteger("silk.test.ha-port-base", 15440);
        PatroniCluster cluster = new PatroniCluster(dir, base, null);
        String out;
        try {
            out = cluster.run(Duration.ofSeconds(180), "up").strip();
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        String url = out.lines().filter(l -> l.startsWith("jdbc:")).reduce((a, b) -> b)
                .orElseThrow(() -> new IllegalStateException("ha-cluster.sh up printed no JDBC URL: " + out));
        return new PatroniCluster(dir, base, url);
    }

    public String jdbcUrl() {
        return jdbcUrl;
    }

    public String user() {
        return "postgres";
    }

    public String password() {
        return "postgres";
    }

    /** The libpq port of a member (for pg_dump and psql, which do not read JDBC URLs). */
    public int port(String member) {
        return portBase + Integer.parseInt(member.substring(2));
    }

    /** The current leader's name; waits up to 30 s for there to be one. */
    public String primary() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            String leader = run(Duration.ofSeconds(20), "primary").strip();
            if (!leader.isEmpty()) {
                return leader;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no leader within 30 s: " + members());
            }
            sleep(200);
        }
    }

    public List<Member> members() {
        List<Member> members = new ArrayList<>();
        for (String line : run(Duration.ofSeconds(20), "members").lines().toList()) {
            String[] f = line.strip().split("\\s+");
            if (f.length >= 3) {
                members.add(new Member(f[0], f[1], f[2], f.length > 3 ? f[3] : ""));
            }
        }
        return members;
    }

    /** Kills the primary with SIGKILL, as a crash; returns its name. */
    public String killPrimary(Fault fault) {
        return run(Duration.ofSeconds(20), "kill-primary", fault == Fault.NODE ? "node" : "postgres").strip();
    }

    /** Starts a killed member's Patroni again: it rejoins as a replica (pg_rewind when it must). */
    public void rejoin(String member) {
        run(Duration.ofSeconds(30), "rejoin", member);
    }

    /** Waits until the member runs as a replica of the current leader. */
    public void awaitReplica(String member, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            var m = members().stream().filter(x -> x.name().equals(member)).findFirst();
            if (m.isPresent() && !m.get().role().equals("Leader") && m.get().state().equals("running")) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(member + " did not rejoin as a replica within " + timeout + ": " + members());
            }
            sleep(250);
        }
    }

    /** Waits until there are a leader and two streaming replicas, one of them synchronous. */
    public void awaitHealthy(Duration timeout) {
        run(timeout.plusSeconds(10), "await-healthy", Long.toString(timeout.toSeconds()));
    }

    /** A planned switchover to the synchronous standby; returns the new leader once it leads. */
    public String switchover() {
        return run(Duration.ofSeconds(60), "switchover").strip();
    }

    /** A consistent dump of the controller's database from the primary (pg_dump -Fc). */
    public void backup(Path file) {
        run(Duration.ofSeconds(60), "backup", file.toString());
    }

    /** Restores a dump under running controllers: loaded beside, then swapped in by rename. */
    public void restore(Path file) {
        run(Duration.ofSeconds(120), "restore", file.toString());
    }

    /** A base backup of the cluster into {@code dir} (pg_basebackup from the primary). */
    public void baseBackup(Path dir) {
        run(Duration.ofSeconds(120), "basebackup", dir.toString());
    }

    /**
     * Recovers the database as it was at {@code moment} (a PostgreSQL timestamp) from a base backup
     * and the WAL archive, in a side instance, into a dump for {@link #restore}.
     */
    public void pointInTime(Path baseBackup, String moment, Path dump) {
        run(Duration.ofSeconds(360), "pitr", baseBackup.toString(), moment, dump.toString());
    }

    /** Where the cluster keeps its logs (Patroni's, PostgreSQL's, etcd's). */
    public Path logs() {
        return dir.resolve("log");
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        run(Duration.ofSeconds(60), "down");
    }

    private String run(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("HA_DIR", dir.toString());
        pb.environment().put("HA_PORT_BASE", Integer.toString(portBase));
        try {
            Files.createDirectories(dir);
            Path err = dir.resolve("script-stderr.log");
            pb.redirectError(ProcessBuilder.Redirect.appendTo(err.toFile()));
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("ha-cluster.sh " + String.join(" ", args) + " took over " + timeout);
            }
            if (p.exitValue() != 0) {
                List<String> lines = Files.readAllLines(err);
                throw new IllegalStateException("ha-cluster.sh " + String.join(" ", args) + " failed: "
                        + String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size())));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("run ha-cluster.sh " + String.join(" ", args), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: ha-cluster.sh " + String.join(" ", args), e);
        }
    }

    /** scripts/ha-cluster.sh of this checkout, from the module's directory or the root. */
    private static Path findScript() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("scripts/ha-cluster.sh");
            if (Files.isRegularFile(s)) {
                return s;
            }
        }
        throw new IllegalStateException("scripts/ha-cluster.sh not found above " + Path.of("").toAbsolutePath());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
