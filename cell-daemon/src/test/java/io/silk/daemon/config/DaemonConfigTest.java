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
                "controller.addresses", "a:7443, b:7443", "lease.renew-interval", "500ms", "controller.plaintext", "true"), "test");
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
                "lease.renew-interval", "soon", "controller.plaintext", "true"), "daemon.properties"))
                .hasMessageContaining("lease.renew-interval \"soon\" is not a duration");
    }

    @Test
    void withoutTlsSettingsTheDaemonRefusesToStartUnlessPlaintextIsExplicit() {
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1"),
                "daemon.properties"))
                .hasMessage("daemon.properties: tls.ca, tls.certificate and tls.private-key are required for mTLS to the"
                        + " controller (missing: tls.ca, tls.certificate, tls.private-key); for a controller run with TLS off,"
                        + " set controller.plaintext=true");
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1",
                "tls.ca", "/etc/silk/ca.pem"), "daemon.properties"))
                .hasMessageContaining("(missing: tls.certificate, tls.private-key)");
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1",
                "controller.plaintext", "true", "tls.ca", "/etc/silk/ca.pem"), "daemon.properties"))
                .hasMessage("daemon.properties: controller.plaintext=true and tls.* are both set; choose one");
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1",
                "controller.plaintext", "yes"), "daemon.properties"))
                .hasMessage("daemon.properties: controller.plaintext \"yes\" is not true or false");
    }

    @Test
    void theUnderlayIpIsParsedOnceHere() {
        DaemonConfig c = DaemonConfig.from(props("underlay.ip", " 10.0.0.5 ", "controller.addresses", "a:1",
                "controller.plaintext", "true"), "daemon.properties");
        assertThat(c.underlayIp()).isEqualTo(new io.silk.values.Ipv4Address(0x0a000005));
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0", "controller.addresses", "a:1",
                "controller.plaintext", "true"), "daemon.properties"))
                .hasMessage("daemon.properties: underlay.ip \"10.0.0\" is not an IPv4 address (a.b.c.d)");
        assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0." + "5".repeat(5000),
                "controller.addresses", "a:1", "controller.plaintext", "true"), "daemon.properties"))
                .satisfies(e -> assertThat(e.getMessage()).startsWith("daemon.properties: underlay.ip \"10.0.0.55")
                        .contains("(5007 chars)").hasSizeLessThan(200));
    }

    @Test
    void withTlsSettingsTheDaemonTalksMtls() {
        DaemonConfig c = DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1",
                "tls.ca", "/etc/silk/ca.pem", "tls.certificate", "/etc/silk/cell.pem", "tls.private-key", "/etc/silk/cell-key.pem"),
                "daemon.properties");
        assertThat(c.plaintext()).isFalse();
        assertThat(c.ca()).hasToString("/etc/silk/ca.pem");
    }
}
