package io.silk.daemon.vtep;

import static io.silk.daemon.Namespaces.sh;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.Namespaces;
import io.silk.daemon.TestLeases;
import io.silk.daemon.lease.HeldLease;
import io.silk.netlink.Netlink;
import io.silk.values.Ipv4Address;
import io.silk.values.SilkMacs;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The kernel adapter in a namespace of its own: what a VTEP tells about its lease, and how it goes. */
class KernelOverlayTest {

    final Namespaces namespaces = new Namespaces();

    @AfterEach
    void clean() {
        namespaces.close();
    }

    @ParameterizedTest(name = "{0} in {1}")
    @CsvSource({"10.255.34.0/24, 10.255.0.0/16", "10.255.48.0/20, 10.255.0.0/16", "10.255.0.192/26, 10.255.0.0/16",
            "10.244.16.0/24, 10.240.0.0/12"})
    void aVtepNamesItsLeaseForAnyPrefix(String subnet, String network) {
        String cell = namespaces.cell("cell", "10.0.0.5");
        try (Netlink netlink = Netlink.openIn(Namespaces.path(cell))) {
            KernelOverlay overlay = new KernelOverlay(netlink, "silk-vtep");
            String base = subnet.substring(0, subnet.indexOf('/'));
            HeldLease self = new HeldLease(TestLeases.ip("10.0.0.5"), TestLeases.net(subnet), SilkMacs.vtep(TestLeases.net(subnet)), TestLeases.net(network));
            overlay.ensureVtep(self, 0);
            int networkPrefix = self.overlayNetwork().prefix();
            assertThat(sh("ip", "-n", cell, "addr", "show", "dev", "silk-vtep")).contains(base + "/" + networkPrefix);

            assertThat(overlay.vtepInKernel()).contains(new VtepInKernel(Ipv4Address.parse(base, "base"), networkPrefix,
                    self.vtepMac(), OptionalInt.empty()));

            // With a route to another cell, the VTEP also tells the pool's subnet prefix.
            String otherBase = "10.250.0.0";
            int prefix = self.subnet().prefix();
            overlay.converge(self, List.of(new RemoteLease(TestLeases.ip("10.0.0.6"), TestLeases.net(otherBase + "/" + prefix),
                    SilkMacs.vtep(TestLeases.net(otherBase + "/" + prefix)))));
            assertThat(overlay.vtepInKernel().orElseThrow().subnetPrefix()).hasValue(prefix);
        }
    }

    @Test
    void removingTheOverlayTakesItsRoutesAndNeighboursWithIt() {
        String cell = namespaces.cell("cell", "10.0.0.5");
        try (Netlink netlink = Netlink.openIn(Namespaces.path(cell))) {
            KernelOverlay overlay = new KernelOverlay(netlink, "silk-vtep");
            HeldLease self = TestLeases.held("10.0.0.5", "10.255.1.0/24", "ee:ee:0a:ff:01:00", "10.255.0.0/16");
            overlay.ensureVtep(self, 0);
            overlay.converge(self, List.of(TestLeases.remote("10.0.0.6", "10.255.6.0/24", "ee:ee:0a:ff:06:00")));
            assertThat(sh("ip", "-n", cell, "route")).contains("10.255.6.0/24 via 10.255.6.0 dev silk-vtep");

            assertThat(overlay.removeAll()).isTrue();

            assertThat(overlay.vtepInKernel()).isEmpty();
            assertThat(sh("ip", "-n", cell, "route")).doesNotContain("silk-vtep", "10.255.");
            assertThat(sh("ip", "-n", cell, "neigh", "show")).doesNotContain("ee:ee:");
            assertThat(sh("bridge", "-n", cell, "fdb", "show")).doesNotContain("ee:ee:");
            assertThat(overlay.removeAll()).as("idempotent").isFalse();
        }
    }
}
