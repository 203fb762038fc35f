package io.silk.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Network namespaces a test makes and removes (even when it fails); never the root namespace. */
public final class Namespaces implements AutoCloseable {

    private final String prefix = "skd" + Integer.toHexString(0x1000 + ThreadLocalRandom.current().nextInt(0xefff));
    private final List<String> made = new ArrayList<>();

    public String add(String name) {
        String ns = prefix + "-" + name;
        sh("ip", "netns", "add", ns);
        made.add(ns);
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /** A cell namespace with an underlay interface holding {@code underlayIp}/24. */
    public String cell(String name, String underlayIp) {
        String ns = add(name);
        // A veth pair inside the namespace stands in for the underlay NIC (no dummy module on every kernel).
        sh("ip", "-n", ns, "link", "add", "u0", "type", "veth", "peer", "name", "u1");
        sh("ip", "-n", ns, "addr", "add", underlayIp + "/24", "dev", "u0");
        sh("ip", "-n", ns, "link", "set", "u1", "up");
        sh("ip", "-n", ns, "link", "set", "u0", "up");
        return ns;
    }

    public static Path path(String ns) {
        return Path.of("/var/run/netns", ns);
    }

    public static String sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
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
        for (String ns : made.reversed()) {
            try {
                new ProcessBuilder("ip", "netns", "delete", ns).start().waitFor();
            } catch (Exception ignored) {
                // Best effort; the next test uses other names.
            }
        }
    }
}
