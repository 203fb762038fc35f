package io.silk.daemon.cni;

import io.silk.netlink.Link;
import io.silk.netlink.Neighbor;
import io.silk.netlink.Netlink;
import io.silk.netlink.NetlinkException;
import io.silk.netlink.Route;
import io.silk.values.Ipv4Address;
import io.silk.values.SilkMacs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A container's attachment, wired as Silk wires it: a veth pair whose host side is
 * 169.254.0.1/32 peer container-IP/32 and whose container side is container-IP/32 peer
 * 169.254.0.1/32, NOARP with one permanent neighbour each side, MACs derived from the IP
 * (aa:aa:IP on the host, ee:ee:IP in the container), default route via 169.254.0.1.
 */
public final class ContainerLink {

    public static final String GATEWAY = "169.254.0.1";
    private static final int ROUTE_PROTOCOL_BOOT = 3;

    private final Netlink host;

    public ContainerLink(Netlink host) {
        this.host = host;
    }

    /** The host-side name: at most 15 characters, stable for one container interface. */
    public static String hostInterface(String containerId, String ifname) {
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest((containerId + "/" + ifname).getBytes());
            return "s-" + HexFormat.of().formatHex(h, 0, 6);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** aa:aa + the container's address ({@link SilkMacs#hostSide}). */
    public static String hostMac(String ip) {
        return SilkMacs.hostSide(Ipv4Address.parse(ip, "container ip")).toString();
    }

    /** ee:ee + the container's address ({@link SilkMacs#containerSide}). */
    public static String containerMac(String ip) {
        return SilkMacs.containerSide(Ipv4Address.parse(ip, "container ip")).toString();
    }

    public void attach(Path netns, String ifname, String hostIf, String ip, int mtu) {
        host.link(hostIf).ifPresent(stale -> host.deleteLink(stale.index()));
        int nsFd = Netlink.openNamespaceFd(netns);
        try {
            host.createVeth(hostIf, hostMac(ip), ifname, containerMac(ip), mtu, nsFd);
        } finally {
            Netlink.closeFd(nsFd);
        }
        Link h = host.link(hostIf).orElseThrow();
        // Flags first: toggling NOARP flushes the device's neighbour entries, permanent ones included.
        host.setFlags(h.index(), Link.IFF_UP | Link.IFF_NOARP, Link.IFF_UP | Link.IFF_NOARP);
        host.addAddress(h.index(), GATEWAY, 32, ip);
        host.addNeighbor(new Neighbor(Netlink.AF_INET, h.index(), ip, containerMac(ip), Neighbor.NUD_PERMANENT));
        try (Netlink inside = Netlink.openIn(netns)) {
            Link c = inside.link(ifname).orElseThrow(() -> new IllegalStateException(ifname + " did not appear in " + netns));
            inside.setFlags(c.index(), Link.IFF_UP | Link.IFF_NOARP, Link.IFF_UP | Link.IFF_NOARP);
            inside.addAddress(c.index(), ip, 32, GATEWAY);
            inside.addNeighbor(new Neighbor(Netlink.AF_INET, c.index(), GATEWAY, hostMac(ip), Neighbor.NUD_PERMANENT));
            inside.addRoute(new Route("0.0.0.0", 0, GATEWAY, null, c.index(), ROUTE_PROTOCOL_BOOT));
        }
    }

    /** Removes the attachment; succeeds when the namespace, the interface or both are gone. */
    public void detach(Path netns, String ifname, String hostIf) {
        try {
            host.link(hostIf).ifPresent(l -> host.deleteLink(l.index()));
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
        if (netns == null || !Files.exists(netns)) {
            return;
        }
        try (Netlink inside = Netlink.openIn(netns)) {
            inside.link(ifname).ifPresent(l -> inside.deleteLink(l.index()));
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
    }

    /** What is wrong with the attachment; empty when it is as ADD left it. */
    public List<String> check(Path netns, String ifname, String hostIf, String ip) {
        List<String> problems = new ArrayList<>();
        if (host.link(hostIf).isEmpty()) {
            problems.add("host interface " + hostIf + " is missing");
        }
        if (!Files.exists(netns)) {
            problems.add("network namespace " + netns + " is gone");
            return problems;
        }
        try (Netlink inside = Netlink.openIn(netns)) {
            var link = inside.link(ifname);
            if (link.isEmpty()) {
                problems.add("interface " + ifname + " is missing in " + netns);
                return problems;
            }
            Link c = link.get();
            if (!c.up()) {
                problems.add(ifname + " is down");
            }
            if (!c.mac().equals(containerMac(ip))) {
                problems.add(ifname + " has MAC " + c.mac() + ", expected " + containerMac(ip));
            }
            boolean hasIp = inside.addresses().stream()
                    .anyMatch(a -> a.linkIndex() == c.index() && ip.equals(a.local()) && GATEWAY.equals(a.peer()));
            if (!hasIp) {
                problems.add(ifname + " lacks address " + ip + " peer " + GATEWAY);
            }
            boolean hasDefault = inside.routes().stream()
                    .anyMatch(r -> r.prefix() == 0 && GATEWAY.equals(r.gateway()) && r.linkIndex() == c.index());
            if (!hasDefault) {
                problems.add("no default route via " + GATEWAY + " on " + ifname);
            }
        }
        return problems;
    }

}
