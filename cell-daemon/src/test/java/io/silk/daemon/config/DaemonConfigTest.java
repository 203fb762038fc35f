package io.silk.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class DaemonConfigTest {

    static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void defaultsAndParsing() {
        DaemonConfig c = DaemonConfig.from(props("underlay.ip", "10.0.0.5",
                "controller.addresses", "a:7443, b:7443", "lease.renew-interval", "500ms"), "test");
        assertThat(c.controllers()).containsExactly("a:7443", "b:7443");
        assertThat(c.renewInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.partitionTolerance()).isEqualTo(Duration.ofHours(168));
        assertThat(c.vtepName()).isEqualTo("silk-vtep");
        assertThat(c.plaintext()).isTrue();
    }

    @Test
    void clearErrors() {
        assertThatThrownBy(() -> DaemonConfig.from(props("controller.addresses", "a:1"), "daemon.properties"))
                .hasMessage("daemon.properties: underlay.ip is required");
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1",
                "lease.renew-interval", "soon"), "daemon.properties"))
                .hasMessageContaining("lease.renew-interval \"soon\" is not a duration");
    }
}
