package io.silk.netlink;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A network namespace made for one test and removed afterwards, even when the test fails. */
public final class TestNamespace implements AutoCloseable {

    private final String name;

    private TestNamespace(String name) {
        this.name = name;
    }

    public static TestNamespace create(String prefix) {
        String name = prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextInt() & 0xffffffL);
        sh("ip", "netns", "add", name);
        return new TestNamespace(name);
    }

    public String name() {
        return name;
    }

    public Path path() {
        return Path.of("/var/run/netns", name);
    }

    /** Runs a command inside the namespace; returns its output, fails on a non-zero exit. */
    public String exec(String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(List.of(command));
        return sh(cmd.toArray(String[]::new));
    }

    public static String sh(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        sh("ip", "netns", "delete", name);
    }
}
