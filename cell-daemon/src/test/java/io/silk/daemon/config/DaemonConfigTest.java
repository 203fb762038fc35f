package io.silk.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import io.silk.daemon.policy.nftables.NftablesBackend;
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

    @Test
    void policySettings() {
        DaemonConfig c = DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1", "controller.plaintext", "true",
                "policy.deny-networks.always", "169.254.169.254/32, 10.0.0.0/8", "policy.deny-networks.staging", "192.0.2.10-192.0.2.20",
                "policy.counters-interval", "0"), "daemon.properties");
        assertThat(c.policyBackend()).isEqualTo(DaemonConfig.PolicyBackendKind.NFTABLES);
        assertThat(c.nflogGroup()).isEqualTo(81);
        assertThat(c.countersInterval()).isZero();
        assertThat(c.denyNetworks().always()).containsExactly("169.254.169.254/32", "10.0.0.0/8");
        assertThat(c.denyNetworks().staging()).containsExactly("192.0.2.10-192.0.2.20");
        assertThat(c.denyNetworks().running()).isEmpty();
        assertThat(c.securityGroups()).as("dynamic by default").isEqualTo(NftablesBackend.SecurityGroupMode.DYNAMIC);
        assertThat(c.ingressTag()).as("off by default").isZero();
        DaemonConfig cf = DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1", "controller.plaintext", "true",
                "policy.security-groups", "static", "policy.ingress-tag", "000A"), "daemon.properties");
        assertThat(cf.securityGroups()).isEqualTo(NftablesBackend.SecurityGroupMode.STATIC);
        assertThat(cf.ingressTag()).isEqualTo(10);
        for (String[] bad : new String[][] {{"policy.backend", "ebpf", "policy.backend \"ebpf\" is not nftables or iptables"},
                {"policy.security-groups", "sometimes", "policy.security-groups \"sometimes\" is not dynamic or static"},
                {"policy.ingress-tag", "10000", "policy.ingress-tag \"10000\" is not a tag of 1 to 4 hex digits"},
                {"policy.nflog-group", "0", "policy.nflog-group \"0\" is not a whole number from 1 to 65535"},
                {"policy.deny-networks.running", "10.0.0.0/33", "policy.deny-networks.running \"10.0.0.0/33\" is not a CIDR or an address range"},
                {"policy.deny-networks.always", "10.0.0.9-10.0.0.1", "policy.deny-networks.always \"10.0.0.9-10.0.0.1\" is not a CIDR"}}) {
            assertThatThrownBy(() -> DaemonConfig.from(props("underlay.ip", "10.0.0.5", "controller.addresses", "a:1",
                    "controller.plaintext", "true", bad[0], bad[1]), "daemon.properties")).as(bad[0])
                    .hasMessageContaining("daemon.properties: " + bad[2]);
        }
    }
}
