package io.silk.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The adapter against the real kernel, inside namespaces made for the test. */
class NetlinkTest {

    static final int PROTO = 90;

    @Test
    void vxlanAddressesRoutesArpAndFdb() {
        try (var ns = TestNamespace.create("nltest"); var nl = Netlink.openIn(ns.path())) {
            nl.createVeth("u0", "02:00:00:00:00:01", "u1", "02:00:00:00:00:02", 1500, -1);
            Link u0 = nl.link("u0").orElseThrow();
            nl.addAddress(u0.index(), "10.77.0.1", 24, null);
            nl.setFlags(u0.index(), Link.IFF_UP, Link.IFF_UP);

            nl.createVxlan(new Netlink.Vxlan("silk-vtep", 1, 4789, "10.77.0.1", u0.index(), 1450, "ee:ee:0a:ff:01:00", true));
            Link vtep = nl.link("silk-vtep").orElseThrow();
            assertThat(vtep.kind()).isEqualTo("vxlan");
            assertThat(vtep.mac()).isEqualTo("ee:ee:0a:ff:01:00");
            assertThat(vtep.mtu()).isEqualTo(1450);
            String details = ns.exec("ip", "-d", "link", "show", "silk-vtep");
            assertThat(details).contains("vxlan id 1", "local 10.77.0.1", "dev u0", "dstport 4789", "nolearning", "gbp");

            nl.addAddress(vtep.index(), "10.255.1.0", 16, null);
            nl.setFlags(vtep.index(), Link.IFF_UP, Link.IFF_UP);
            assertThat(nl.addresses()).contains(new Address(vtep.index(), "10.255.1.0", "10.255.1.0", 16));

            Route route = new Route("10.255.2.0", 24, "10.255.2.0", "10.255.1.0", vtep.index(), PROTO);
            nl.addRoute(route);
            nl.addRoute(route); // replace: idempotent
            assertThat(nl.routes()).contains(route);
            assertThat(ns.exec("ip", "route")).contains("10.255.2.0/24 via 10.255.2.0 dev silk-vtep proto 90 src 10.255.1.0");

            Neighbor arp = new Neighbor(Netlink.AF_INET, vtep.index(), "10.255.2.0", "ee:ee:0a:ff:02:00", Neighbor.NUD_PERMANENT);
            Neighbor fdb = new Neighbor(Netlink.AF_BRIDGE, vtep.index(), "10.77.0.2", "ee:ee:0a:ff:02:00", Neighbor.NUD_PERMANENT);
            nl.addNeighbor(arp);
            nl.addNeighbor(fdb);
            assertThat(nl.neighbors(Netlink.AF_INET, vtep.index())).contains(arp);
            assertThat(nl.neighbors(Netlink.AF_BRIDGE, vtep.index())).contains(fdb);
            assertThat(ns.exec("ip", "neigh", "show", "dev", "silk-vtep")).contains("10.255.2.0 lladdr ee:ee:0a:ff:02:00 PERMANENT");
            assertThat(ns.exec("bridge", "fdb", "show", "dev", "silk-vtep")).contains("ee:ee:0a:ff:02:00 dst 10.77.0.2 self permanent");

            nl.deleteRoute(route);
            nl.deleteNeighbor(arp);
            nl.deleteNeighbor(fdb);
            assertThat(nl.routes()).doesNotContain(route);
            assertThat(nl.neighbors(Netlink.AF_INET, vtep.index())).doesNotContain(arp);
            assertThat(nl.neighbors(Netlink.AF_BRIDGE, vtep.index())).doesNotContain(fdb);

            nl.deleteLink(vtep.index());
            assertThat(nl.link("silk-vtep")).isEmpty();
        }
    }

    @Test
    void vethIntoAnotherNamespaceWithPointToPointAddresses() {
        try (var cell = TestNamespace.create("nlcell"); var container = TestNamespace.create("nlctr");
             var host = Netlink.openIn(cell.path()); var inside = Netlink.openIn(container.path())) {
            int fd = Netlink.openNamespaceFd(container.path());
            try {
                host.createVeth("s-test", "aa:aa:0a:ff:01:02", "eth0", "ee:ee:0a:ff:01:02", 1450, fd);
            } finally {
                Netlink.closeFd(fd);
            }
            Link h = host.link("s-test").orElseThrow();
            Link c = inside.link("eth0").orElseThrow();
            assertThat(host.link("eth0")).isEmpty();
            assertThat(c.mac()).isEqualTo("ee:ee:0a:ff:01:02");

            host.addAddress(h.index(), "169.254.0.1", 32, "10.255.1.2");
            host.setFlags(h.index(), Link.IFF_UP | Link.IFF_NOARP, Link.IFF_UP | Link.IFF_NOARP);
            inside.addAddress(c.index(), "10.255.1.2", 32, "169.254.0.1");
            inside.setFlags(c.index(), Link.IFF_UP | Link.IFF_NOARP, Link.IFF_UP | Link.IFF_NOARP);
            inside.addRoute(new Route("0.0.0.0", 0, "169.254.0.1", null, c.index(), 3));

            assertThat(container.exec("ip", "addr", "show", "eth0")).contains("inet 10.255.1.2 peer 169.254.0.1/32", "NOARP");
            assertThat(container.exec("ip", "route")).contains("default via 169.254.0.1 dev eth0");
            assertThat(cell.exec("ip", "addr", "show", "s-test")).contains("inet 169.254.0.1 peer 10.255.1.2/32");
        }
    }

    @Test
    void errorsSayWhatFailed() {
        try (var ns = TestNamespace.create("nlerr"); var nl = Netlink.openIn(ns.path())) {
            assertThat(nl.link("nope")).isEmpty();
            nl.createVeth("a0", "02:00:00:00:00:01", "a1", "02:00:00:00:00:02", 1500, -1);
            assertThatThrownBy(() -> nl.createVeth("a0", "02:00:00:00:00:03", "a2", "02:00:00:00:00:04", 1500, -1))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.exists()).isTrue())
                    .hasMessageContaining("create veth a0/a2").hasMessageContaining("EEXIST");
            assertThatThrownBy(() -> nl.deleteLink(99999))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.notFound()).isTrue());
        }
        assertThatThrownBy(() -> Netlink.openIn(java.nio.file.Path.of("/var/run/netns/does-not-exist")))
                .hasMessageContaining("open network namespace");
    }
}
