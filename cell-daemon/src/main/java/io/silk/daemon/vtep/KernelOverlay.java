package io.silk.daemon.vtep;

import io.silk.daemon.lease.HeldLease;
import io.silk.netlink.Address;
import io.silk.netlink.Link;
import io.silk.netlink.Neighbor;
import io.silk.netlink.Netlink;
import io.silk.netlink.NetlinkException;
import io.silk.netlink.Route;
import io.silk.values.Ipv4Address;
import io.silk.values.MacAddress;
import io.silk.values.SilkMacs;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cell's side of the VXLAN overlay, kept as Silk keeps it: the VTEP, and per remote lease a
 * route, a permanent ARP entry and a permanent FDB entry. Converges declaratively: what should be
 * there is added, what the daemon made and should not be there is removed, and anything else
 * (routes of other protocols, entries with other MACs) is left alone.
 */
public final class KernelOverlay implements Overlay {

    private static final Logger log = LoggerFactory.getLogger(KernelOverlay.class);

    /** Route protocol number marking the routes this daemon owns. */
    public static final int ROUTE_PROTOCOL = 90;
    public static final int VNI = 1;
    public static final int VXLAN_PORT = 4789;
    public static final int VXLAN_OVERHEAD = 50;

    private final Netlink netlink;
    private final String vtepName;

    public KernelOverlay(Netlink netlink, String vtepName) {
        this.netlink = netlink;
        this.vtepName = vtepName;
    }

    @Override
    public Optional<VtepInKernel> vtepInKernel() {
        Optional<Link> vtep = netlink.link(vtepName);
        if (vtep.isEmpty()) {
            return Optional.empty();
        }
        int index = vtep.get().index();
        Optional<Address> address = netlink.addresses().stream().filter(a -> a.linkIndex() == index).findFirst();
        if (address.isEmpty()) {
            return Optional.empty();
        }
        // The daemon's routes to other cells carry the pool's subnet prefix, which is also this cell's.
        OptionalInt subnetPrefix = netlink.routes().stream()
                .filter(r -> r.linkIndex() == index && r.protocol() == ROUTE_PROTOCOL).mapToInt(Route::prefix)
                .filter(p -> p < 32).findFirst(); // not a route to a single overlay IP (a router's /32)
        return Optional.of(new VtepInKernel(Ipv4Address.parse(address.get().local(), vtepName + " address"),
                address.get().prefix(), MacAddress.parse(vtep.get().mac(), vtepName + " mac"), subnetPrefix));
    }

    /** The underlay device: the link holding the cell's underlay IP. */
    public Link underlay(Ipv4Address underlayIp) {
        String ip = underlayIp.toString();
        int index = netlink.addresses().stream().filter(a -> ip.equals(a.local())).mapToInt(Address::linkIndex)
                .findFirst().orElseThrow(() -> new IllegalStateException("no interface holds the underlay IP " + underlayIp
                        + " in this network namespace; check underlay.ip"));
        return netlink.links().stream().filter(l -> l.index() == index).findFirst().orElseThrow();
    }

    @Override
    public int ensureVtep(HeldLease lease, int configuredMtu) {
        Link underlay = underlay(lease.underlayIp());
        String base = lease.baseIp().toString();
        int networkPrefix = lease.overlayNetwork().prefix();
        String mac = lease.vtepMac().toString();
        int mtu = configuredMtu > 0 ? configuredMtu : underlay.mtu() - VXLAN_OVERHEAD;
        Optional<Link> existing = netlink.link(vtepName);
        if (existing.isPresent()) {
            Link l = existing.get();
            boolean addressed = netlink.addresses().stream()
                    .anyMatch(a -> a.linkIndex() == l.index() && base.equals(a.local()) && a.prefix() == networkPrefix);
            if (l.kind().equals("vxlan") && l.mac().equals(mac) && l.mtu() == mtu && addressed && l.up()) {
                return mtu;
            }
            log.atInfo().addKeyValue("vtep", vtepName).addKeyValue("mac", l.mac()).addKeyValue("lease_mac", mac)
                    .log("vtep does not match the lease, re-creating it");
            netlink.deleteLink(l.index());
        }
        netlink.createVxlan(new Netlink.Vxlan(vtepName, VNI, VXLAN_PORT, lease.underlayIp().toString(), underlay.index(),
                mtu, mac, true));
        Link vtep = netlink.link(vtepName).orElseThrow();
        netlink.addAddress(vtep.index(), base, networkPrefix, null);
        netlink.setFlags(vtep.index(), Link.IFF_UP, Link.IFF_UP);
        log.atInfo().addKeyValue("vtep", vtepName).addKeyValue("mac", mac)
                .addKeyValue("address", base + "/" + networkPrefix).addKeyValue("mtu", mtu).log("vtep created");
        return mtu;
    }

    @Override
    public boolean removeAll() {
        // Routes, ARP and FDB entries on the VTEP go with it.
        Optional<Link> vtep = netlink.link(vtepName);
        vtep.ifPresent(l -> netlink.deleteLink(l.index()));
        return vtep.isPresent();
    }

    private int vtepIndex() {
        return netlink.link(vtepName).orElseThrow(() -> new IllegalStateException(vtepName + " is missing")).index();
    }

    @Override
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
                .filter(n -> n.permanent() && silkMade(n) && n.ip() != null).toList();
        int removed = 0;
        int added = 0;
        for (Route r : haveRoutes) {
            if (!wantRoutes.remove(r)) {
                ignoreMissing(() -> netlink.deleteRoute(r));
                removed++;
            }
        }
        for (Neighbor n : haveArp) {
            if (!wantArp.remove(n) && silkMade(n)) {
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
            log.atInfo().addKeyValue("remote_leases", remotes.size()).addKeyValue("added", added).addKeyValue("removed", removed)
                    .log("overlay converged");
        }
    }

    @Override
    public void add(HeldLease self, RemoteLease r) {
        if (r.underlayIp().equals(self.underlayIp())) {
            return;
        }
        int vtep = vtepIndex();
        netlink.addNeighbor(arp(r, vtep));
        netlink.addNeighbor(fdb(r, vtep));
        netlink.addRoute(route(self, r, vtep));
    }

    @Override
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
        String remoteBase = r.baseIp().toString();
        return new Route(remoteBase, r.subnet().prefix(), remoteBase, self.baseIp().toString(), vtep, ROUTE_PROTOCOL);
    }

    private static Neighbor arp(RemoteLease r, int vtep) {
        return new Neighbor(Netlink.AF_INET, vtep, r.baseIp().toString(), r.vtepMac().toString(), Neighbor.NUD_PERMANENT);
    }

    private static Neighbor fdb(RemoteLease r, int vtep) {
        return new Neighbor(Netlink.AF_BRIDGE, vtep, r.underlayIp().toString(), r.vtepMac().toString(), Neighbor.NUD_PERMANENT);
    }

    /** An entry pointing at a Silk VTEP MAC: one this daemon (or Silk) made, and may remove. */
    private static boolean silkMade(Neighbor n) {
        return n.mac() != null && SilkMacs.isVtepPrefixed(MacAddress.parse(n.mac(), "neighbour mac"));
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
