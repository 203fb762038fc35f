package io.silk.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A small data centre made of network namespaces: an underlay bridge in a namespace of its own,
 * hosts (controller, cells) joined to it by veth pairs, and container namespaces, with a work
 * directory {@code e2e/target/lab-ID} for its files and logs. Tests get one from {@link LabExtension}
 * (a parameter of a {@code @BeforeAll} or {@code @Test} method), which closes it when the class or
 * the test is done. Closing removes everything it made in the kernel — its processes, whatever else
 * still runs in its namespaces, then the namespaces — whether the test passed or not; the work
 * directory is removed too when every test that used the lab passed, and kept (with the logs) when
 * one failed.
 *
 * <p>A lab's ID starts with the test JVM's PID, so a new lab also removes what labs of JVMs that
 * are gone (killed mid-test) left in the kernel.
 */
public final class Lab implements AutoCloseable {

    public static final Path ROOT = Path.of(System.getProperty("silk.root", "..")).toAbsolutePath().normalize();
    public static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    /** Namespace names: "sk", the JVM's PID in hex, "g", the lab's number in hex, "-", the role. */
    private static final Pattern NAMESPACE = Pattern.compile("sk([0-9a-f]+)g[0-9a-f]+-\\S+");
    private static final AtomicInteger LABS = new AtomicInteger();

    private final String id = Long.toHexString(ProcessHandle.current().pid()) + "g" + Integer.toHexString(LABS.incrementAndGet());
    private final List<String> namespaces = Collections.synchronizedList(new ArrayList<>());
    private final List<Process> processes = Collections.synchronizedList(new ArrayList<>());
    private final Path work;
    private final String underlay;
    private int hosts;

    /** A command's exit code and combined output. */
    public record Result(int exit, String output) {
        public boolean ok() {
            return exit == 0;
        }
    }

    public Lab() throws IOException {
        removeLeftoversOfGoneJvms();
        work = Files.createDirectories(ROOT.resolve("e2e/target/lab-" + id));
        underlay = "sk" + id + "-u";
        addNamespace(underlay);
        must(sh("ip", "-n", underlay, "link", "add", "br0", "type", "bridge"));
        must(sh("ip", "-n", underlay, "link", "set", "br0", "up"));
    }

    public Path work() {
        return work;
    }

    public String id() {
        return id;
    }

    private void addNamespace(String name) {
        must(sh("ip", "netns", "add", name));
        namespaces.add(name);
        must(sh("ip", "-n", name, "link", "set", "lo", "up"));
    }

    /** A host on the underlay with address ip/24 on its eth0; returns its namespace. */
    public String host(String role, String ip) {
        String ns = "sk" + id + "-" + role;
        addNamespace(ns);
        String peer = "v" + id + (hosts++);
        must(sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", underlay));
        must(sh("ip", "-n", underlay, "link", "set", peer, "master", "br0", "up"));
        must(sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0"));
        must(sh("ip", "-n", ns, "link", "set", "eth0", "up"));
        return ns;
    }

    /** An empty namespace for a container. */
    public String container(String name) {
        String ns = "sk" + id + "-" + name;
        addNamespace(ns);
        return ns;
    }

    public void removeNamespace(String ns) {
        deleteNamespace(ns);
        namespaces.remove(ns);
    }

    /** Kills what still runs in the namespace (a process's children, say), then deletes it. */
    private static void deleteNamespace(String ns) {
        for (String pid : sh("ip", "netns", "pids", ns).output().split("\\s+")) {
            if (pid.matches("\\d+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        sh("ip", "netns", "delete", ns);
    }

    /** Namespaces of labs whose JVM has gone (killed before it could close them): removed. */
    private static void removeLeftoversOfGoneJvms() {
        for (String line : sh("ip", "netns", "list").output().split("\n")) {
            String ns = line.split(" ")[0];
            Matcher m = NAMESPACE.matcher(ns);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1), 16)).isEmpty()) {
                deleteNamespace(ns);
            }
        }
    }

    public static Path netnsPath(String ns) {
        return Path.of("/var/run/netns", ns);
    }

    public Result in(String ns, String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(List.of(command));
        return sh(cmd.toArray(String[]::new));
    }

    /** Starts a long-running process on the host itself (loopback only), its output going to a log file in the lab. */
    public Process spawnOnHost(String logName, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve(logName + ".log").toFile())).start();
        processes.add(p);
        return p;
    }

    /** Starts a long-running process in a namespace, its output going to a log file in the lab. */
    public Process spawn(String ns, String logName, List<String> command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve(logName + ".log").toFile())).start();
        processes.add(p);
        return p;
    }

    /** Waits until a log of this lab contains the text (e.g. nc's "Listening on" once it has bound). */
    public void awaitLog(String logName, String text) {
        Path log = work.resolve(logName + ".log");
        await(text + " in " + log.getFileName(), Duration.ofSeconds(10), () -> {
            try {
                return Files.exists(log) && Files.readString(log).contains(text);
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** Stops a process this lab started: SIGTERM, then SIGKILL after five seconds. */
    public void stop(Process p, boolean kill) {
        if (kill) {
            p.destroyForcibly();
        } else {
            p.destroy();
        }
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        processes.remove(p);
    }

    public static Result sh(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            return new Result(p.waitFor(), out);
        } catch (IOException e) {
            return new Result(127, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(130, "interrupted");
        }
    }

    public static Result must(Result r) {
        if (!r.ok()) {
            throw new IllegalStateException("command failed (" + r.exit() + "): " + r.output());
        }
        return r;
    }

    /** Polls until the condition holds; returns the milliseconds it took, fails after the timeout. */
    public static long await(String what, Duration timeout, BooleanSupplier condition) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    public List<String> namespaces() {
        return List.copyOf(namespaces);
    }

    /** Stops the lab's processes and removes its namespaces; the work directory stays. Idempotent. */
    @Override
    public void close() {
        for (Process p : List.copyOf(processes)) {
            stop(p, false);
        }
        for (String ns : List.copyOf(namespaces)) {
            deleteNamespace(ns);
        }
        namespaces.clear();
    }

    /** Removes the work directory and everything in it. */
    public void deleteFiles() throws IOException {
        if (!Files.exists(work)) {
            return;
        }
        try (Stream<Path> all = Files.walk(work)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
