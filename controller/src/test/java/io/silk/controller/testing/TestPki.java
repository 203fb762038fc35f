package io.silk.controller.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Certificates for tests, issued by the same script the main job uses (scripts/dev-pki.sh). */
public final class TestPki {

    private static Path dir;

    private TestPki() {}

    public static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("silk-test-pki");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            run(List.of());
        }
        return dir;
    }

    /** Issues (once) a certificate naming the cell. */
    public static synchronized Identity cell(String ip) {
        Path d = dir();
        if (!Files.exists(d.resolve("cell-" + ip + ".pem"))) {
            run(List.of(ip));
        }
        return new Identity(d.resolve("cell-" + ip + ".pem"), d.resolve("cell-" + ip + "-key.pem"));
    }

    public static Identity operator() {
        Path d = dir();
        return new Identity(d.resolve("operator.pem"), d.resolve("operator-key.pem"));
    }

    public static Path ca() {
        return dir().resolve("ca.pem");
    }

    public static Path serverCertificate() {
        return dir().resolve("server.pem");
    }

    public static Path serverKey() {
        return dir().resolve("server-key.pem");
    }

    /** A client certificate and its key. */
    public record Identity(Path certificate, Path key) {}

    private static void run(List<String> cells) {
        Path script = Path.of("..", "scripts", "dev-pki.sh").toAbsolutePath().normalize();
        List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), dir.toString()));
        cmd.addAll(cells);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException("dev-pki.sh failed: " + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException("run " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
