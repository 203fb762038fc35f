package io.silk.daemon.vtep;

import io.silk.daemon.lease.HeldLease;
import io.silk.netlink.Address;
import io.silk.netlink.Link;
import io.silk.netlink.Neighbor;
import io.silk.netlink.Netlink;
import io.silk.netlink.NetlinkException;
import io.silk.netlink.Route;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cell's side of the VXLAN overlay, kept as Silk keeps it: the VTEP, and per remote lease a
 * route, a permanent ARP entry and a permanent FDB entry. Converges declaratively: what should be
 * there is added, what the daemon made and should not be there is removed, and anything else
 * (routes of other protocols, entries with other MACs) is left alone.
 */
public final class Overlay {

    private static final Logger log = LoggerFactory.getLogger(Overlay.class);

    /** Route protocol number marking the routes this daemon owns. */
    public static final int ROUTE_PROTOCOL = 90;
    public static final int VNI = 1;
    public static final int VXLAN_PORT = 4789;
    public static final int VXLAN_OVERHEAD = 50;

    private final Netlink netlink;
    private final String vtepName;

    public Overlay(Netlink netlink, String vtepName) {
        this.netlink = netlink;
        this.vtepName = vtepName;
    }

    /** The lease a VTEP left in the kernel names, if any: its address is the subnet base. */
    public Optional<String> vtepBaseIp() {
        return netlink.link(vtepName).flatMap(l -> netlink.addresses().stream()
                .filter(a -> a.linkIndex() == l.index()).map(Address::local).findFirst());
    }

    /** The underlay device: the link holding the cell's underlay IP. */
    public Link underlay(String underlayIp) {
        int index = netlink.addresses().stream().filter(a -> underlayIp.equals(a.local())).mapToInt(Address::linkIndex)
                .findFirst().orElseThrow(() -> new IllegalStateException("no interface holds the underlay IP " + underlayIp
                        + " in this network namespace; check underlay.ip"));
        return netlink.links().stream().filter(l -> l.index() == index).findFirst().orElseThrow();
    }

    /** Creates (or re-creates, if it does not match the lease) the VTEP; returns its MTU. */
    public int ensureVtep(HeldLease lease, int configuredMtu) {
        Link underlay = underlay(lease.underlayIp());
        int mtu = configuredMtu > 0 ? configuredMtu : underlay.mtu() - VXLAN_OVERHEAD;
        Optional<Link> existing = netlink.link(vtepName);
        if (existing.isPresent()) {
            Link l = existing.get();
            boolean addressed = netlink.addresses().stream()
                    .anyMatch(a -> a.linkIndex() == l.index() && lease.baseIp().equals(a.local()) && a.prefix() == lease.networkPrefix());
            if (l.kind().equals("vxlan") && l.mac().equals(lease.vtepMac()) && l.mtu() == mtu && addressed && l.up()) {
                return mtu;
            }
            log.info("vtep does not match the lease, re-creating vtep={} mac={} lease_mac={}", vtepName, l.mac(), lease.vtepMac());
            netlink.deleteLink(l.index());
        }
        netlink.createVxlan(new Netlink.Vxlan(vtepName, VNI, VXLAN_PORT, lease.underlayIp(), underlay.index(), mtu,
                lease.vtepMac(), true));
        Link vtep = netlink.link(vtepName).orElseThrow();
        netlink.addAddress(vtep.index(), lease.baseIp(), lease.networkPrefix(), null);
        netlink.setFlags(vtep.index(), Link.IFF_UP, Link.IFF_UP);
        log.info("vtep created vtep={} mac={} address={}/{} mtu={}", vtepName, lease.vtepMac(), lease.baseIp(),
                lease.networkPrefix(), mtu);
        return mtu;
    }

    public void removeVtep() {
        netlink.link(vtepName).ifPresent(l -> netlink.deleteLink(l.index()));
    }

    private int vtepIndex() {
        return netlink.link(vtepName).orElseThrow(() -> new IllegalStateException(vtepName + " is missing")).index();
    }

    /** Full resync: the kernel ends up with exactly the entries these leases need. */
    public void converge(HeldLease self, Collection<RemoteLease> remotes) {
        int vtep = vtepIndex();
        Set<Route> wantRoutes = new HashSet<>();
        Set<Neighbor> wantArp = new HashSet<>();
        Set<Neighbor> wantFdb = new HashSet<>();
        for (RemoteLease r : remotes) {
            if (r.underlayIp().equals(self.underlayIp())) {
                continue;
            }
            wantRoutes.add(route(self, r, vtep));
            wantArp.add(arp(r, vtep));
            wantFdb.add(fdb(r, vtep));
        }
        List<Route> haveRoutes = netlink.routes().stream()
                .filter(r -> r.linkIndex() == vtep && r.protocol() == ROUTE_PROTOCOL).toList();
        List<Neighbor> haveArp = netlink.neighbors(Netlink.AF_INET, vtep).stream().filter(Neighbor::permanent).toList();
        List<Neighbor> haveFdb = netlink.neighbors(Netlink.AF_BRIDGE, vtep).stream()
                .filter(n -> n.permanent() && n.mac() != null && n.mac().startsWith("ee:ee:") && n.ip() != null).toList();
        int removed = 0;
        int added = 0;
        for (Route r : haveRoutes) {
            if (!wantRoutes.remove(r)) {
                ignoreMissing(() -> netlink.deleteRoute(r));
                removed++;
            }
        }
        for (Neighbor n : haveArp) {
            if (!wantArp.remove(n) && n.mac() != null && n.mac().startsWith("ee:ee:")) {
                ignoreMissing(() -> netlink.deleteNeighbor(n));
                removed++;
            }
        }
        for (Neighbor n : haveFdb) {
            if (!wantFdb.remove(n)) {
                ignoreMissing(() -> netlink.deleteNeighbor(n));
                removed++;
            }
        }
        // ARP and FDB first, so a new route never points at an unresolved neighbour.
        for (Neighbor n : wantArp) {
            netlink.addNeighbor(n);
            added++;
        }
        for (Neighbor n : wantFdb) {
            netlink.addNeighbor(n);
            added++;
        }
        for (Route r : wantRoutes) {
            netlink.addRoute(r);
            added++;
        }
        if (added + removed > 0) {
            log.info("overlay converged remote_leases={} added={} removed={}", remotes.size(), added, removed);
        }
    }

    /** A remote lease appeared or changed. */
    public void add(HeldLease self, RemoteLease r) {
        if (r.underlayIp().equals(self.underlayIp())) {
            return;
        }
        int vtep = vtepIndex();
        netlink.addNeighbor(arp(r, vtep));
        netlink.addNeighbor(fdb(r, vtep));
        netlink.addRoute(route(self, r, vtep));
    }

    /** A remote lease went away (released, reclaimed or expired). */
    public void remove(HeldLease self, RemoteLease r) {
        if (r.underlayIp().equals(self.underlayIp())) {
            return;
        }
        int vtep = vtepIndex();
        ignoreMissing(() -> netlink.deleteRoute(route(self, r, vtep)));
        ignoreMissing(() -> netlink.deleteNeighbor(arp(r, vtep)));
        ignoreMissing(() -> netlink.deleteNeighbor(fdb(r, vtep)));
    }

    private static Route route(HeldLease self, RemoteLease r, int vtep) {
        return new Route(r.baseIp(), r.prefix(), r.baseIp(), self.baseIp(), vtep, ROUTE_PROTOCOL);
    }

    private static Neighbor arp(RemoteLease r, int vtep) {
        return new Neighbor(Netlink.AF_INET, vtep, r.baseIp(), r.vtepMac(), Neighbor.NUD_PERMANENT);
    }

    private static Neighbor fdb(RemoteLease r, int vtep) {
        return new Neighbor(Netlink.AF_BRIDGE, vtep, r.underlayIp(), r.vtepMac(), Neighbor.NUD_PERMANENT);
    }

    private static void ignoreMissing(Runnable r) {
        try {
            r.run();
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
    }
}
