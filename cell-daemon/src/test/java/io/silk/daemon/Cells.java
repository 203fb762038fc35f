package io.silk.daemon;

import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.controller.GrpcController;
import io.silk.testing.FakeController;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

/** Wiring for tests of a cell against the fake controller. */
public final class Cells {

    public static final String CELL = "10.0.0.5";

    private Cells() {}

    public static DaemonConfig config(FakeController fake, Path stateDir, String... extra) {
        Properties p = new Properties();
        p.setProperty("underlay.ip", CELL);
        p.setProperty("controller.addresses", fake.address());
        p.setProperty("controller.plaintext", "true");
        p.setProperty("state.dir", stateDir.toString());
        p.setProperty("cni.socket", stateDir.resolve("cni.sock").toString());
        p.setProperty("lease.partition-tolerance", "1h");
        for (int i = 0; i < extra.length; i += 2) {
            p.setProperty(extra[i], extra[i + 1]);
        }
        return DaemonConfig.from(p, "test");
    }

    /** One attempt per call and a short time limit: a test sees each failure at once. */
    public static GrpcController controller(FakeController fake) {
        return GrpcController.plaintext(List.of(fake.address()), Duration.ofSeconds(2),
                new GrpcController.Resilience(1, Duration.ofMillis(10), Duration.ofMillis(200)));
    }
}
