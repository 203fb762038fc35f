package io.silk.daemon.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.daemon.TestLeases;
import io.silk.proto.v1.Lease;
import io.silk.values.BadValue;
import org.junit.jupiter.api.Test;

/** Leases from the controller are parsed once, where they enter the daemon. */
class LeasesTest {

    static Lease lease(String underlay, String subnet, String mac) {
        return Lease.newBuilder().setUnderlayIp(underlay).setOverlaySubnet(subnet).setOverlayHardwareAddr(mac).build();
    }

    static final Lease GOOD = lease("10.0.0.5", "10.255.17.0/24", "ee:ee:0a:ff:11:00");

    @Test
    void aLeaseFromTheControllerBecomesTyped() {
        assertThat(Leases.held(GOOD, "10.255.0.0/16"))
                .isEqualTo(TestLeases.held("10.0.0.5", "10.255.17.0/24", "ee:ee:0a:ff:11:00", "10.255.0.0/16"));
        assertThat(Leases.remote(lease("10.0.0.6", "10.255.6.0/24", "EE:EE:0A:FF:06:00")))
                .isEqualTo(TestLeases.remote("10.0.0.6", "10.255.6.0/24", "ee:ee:0a:ff:06:00"));
    }

    @Test
    void aBadValueNamesItsProtoField() {
        assertThatThrownBy(() -> Leases.held(lease("10.0.0", "10.255.17.0/24", "ee:ee:0a:ff:11:00"), "10.255.0.0/16"))
                .isInstanceOf(BadValue.class)
                .hasMessage("lease.underlay_ip \"10.0.0\" is not an IPv4 address (a.b.c.d)");
        assertThatThrownBy(() -> Leases.held(lease("10.0.0.5", "10.255.17.1/24", "ee:ee:0a:ff:11:00"), "10.255.0.0/16"))
                .hasMessage("lease.overlay_subnet \"10.255.17.1/24\" has host bits set; did you mean 10.255.17.0/24?");
        assertThatThrownBy(() -> Leases.held(lease("10.0.0.5", "10.255.17.0/24", "ee:ee:0a:ff:11"), "10.255.0.0/16"))
                .hasMessage("lease.overlay_hardware_addr \"ee:ee:0a:ff:11\" is not a MAC address (aa:bb:cc:dd:ee:ff)");
        assertThatThrownBy(() -> Leases.held(GOOD, ""))
                .hasMessage("overlay_network is empty");
        assertThatThrownBy(() -> Leases.remote(lease("10.0.0.6", "10.255.6.0/33", "ee:ee:0a:ff:06:00")))
                .hasMessage("lease.overlay_subnet \"10.255.6.0/33\" has a prefix length above 32");
    }

    @Test
    void aHugeBadValueIsQuotedShortened() {
        String huge = "10.255.17.0/24" + "x".repeat(10_000);
        assertThatThrownBy(() -> Leases.remote(lease("10.0.0.6", huge, "ee:ee:0a:ff:06:00")))
                .satisfies(e -> assertThat(e.getMessage()).startsWith("lease.overlay_subnet \"10.255.17.0/24xxx")
                        .contains("(10014 chars)").hasSizeLessThan(200));
    }

    @Test
    void theDaemonRefusesABadLeaseFromAnAnswer() {
        assertThatThrownBy(() -> GrpcController.held(lease("10.0.0.5", "not-a-subnet", "ee:ee:0a:ff:11:00"), "10.255.0.0/16"))
                .isInstanceOfSatisfying(ControllerException.class,
                        e -> assertThat(e.kind()).isEqualTo(ControllerException.Kind.REFUSED))
                .hasMessage("the controller sent a bad lease: lease.overlay_subnet \"not-a-subnet\" is not in CIDR notation"
                        + " (a.b.c.d/n)");
    }
}
