package io.silk.netlink;

import io.silk.values.Ipv4Address;
import io.silk.values.MacAddress;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A route netlink socket: the thin adapter between silk and the kernel's links, addresses,
 * routes and neighbours. One socket serves one network namespace, the one it was opened in.
 * Not thread-safe; calls are synchronised.
 */
public final class Netlink implements AutoCloseable {

    public static final int AF_UNSPEC = 0;
    public static final int AF_INET = 2;
    public static final int AF_BRIDGE = 7;

    static final int RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18;
    static final int RTM_NEWADDR = 20, RTM_GETADDR = 22;
    static final int RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;
    static final int RTM_NEWNEIGH = 28, RTM_DELNEIGH = 29, RTM_GETNEIGH = 30;
    static final int NLMSG_ERROR = 2, NLMSG_DONE = 3;
    static final int F_REQUEST = 1, F_MULTI = 2, F_ACK = 4, F_DUMP = 0x300;
    static final int F_REPLACE = 0x100, F_EXCL = 0x200, F_CREATE = 0x400;

    static final int IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINKINFO = 18, IFLA_NET_NS_FD = 28;
    static final int IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    static final int VETH_INFO_PEER = 1;
    static final int IFLA_VXLAN_ID = 1, IFLA_VXLAN_LINK = 3, IFLA_VXLAN_LOCAL = 4, IFLA_VXLAN_LEARNING = 7,
            IFLA_VXLAN_PORT = 15, IFLA_VXLAN_GBP = 23;
    static final int IFA_ADDRESS = 1, IFA_LOCAL = 2;
    static final int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PREFSRC = 7, RTA_TABLE = 15;
    static final int RT_TABLE_MAIN = 254, RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;
    static final int NDA_DST = 1, NDA_LLADDR = 2;
    static final int NTF_SELF = 0x02;
    static final int RTNH_F_ONLINK = 4;

    private static final int RECV_BUFFER = 1 << 20;

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment receive = arena.allocate(RECV_BUFFER);
    private int seq = (int) (System.nanoTime() & 0x7fffffff);
    private boolean closed;

    private Netlink(int fd) {
        this.fd = fd;
    }

    /** A socket in the caller's network namespace. */
    public static Netlink open() {
        return new Netlink(openSocket());
    }

    /**
     * A socket in the network namespace at {@code netns} (e.g. /var/run/netns/cell-a or
     * /proc/PID/ns/net). The socket is made on a throwaway thread that joins the namespace, so no
     * thread of the caller ever changes namespace.
     */
    public static Netlink openIn(Path netns) {
        return new Netlink(NetlinkSockets.inNamespace(netns, "route netlink socket", Netlink::openSocket));
    }

    /**
     * Moves the calling platform thread into the namespace at {@code netns}. For threads made for
     * that purpose only (the namespace sticks to the thread).
     */
    public static void enter(Path netns) {
        var open = Libc.open(netns.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (open.failed()) {
            throw new NetlinkException("open network namespace " + netns, open.errno());
        }
        try {
            var r = Libc.setns((int) open.value(), Libc.CLONE_NEWNET);
            if (r.failed()) {
                throw new NetlinkException("enter network namespace " + netns, r.errno());
            }
        } finally {
            Libc.close((int) open.value());
        }
    }

    /** Opens the namespace file for IFLA_NET_NS_FD; the caller closes it with {@link #closeFd}. */
    public static int openNamespaceFd(Path netns) {
        var open = Libc.open(netns.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (open.failed()) {
            throw new NetlinkException("open network namespace " + netns, open.errno());
        }
        return (int) open.value();
    }

    public static void closeFd(int fd) {
        Libc.close(fd);
    }

    private static int openSocket() {
        return NetlinkSockets.open(Libc.NETLINK_ROUTE, "netlink socket");
    }

    // ---- links ------------------------------------------------------------------------------

    public synchronized List<Link> links() {
        var m = new NetlinkMessage(RTM_GETLINK, F_REQUEST | F_DUMP).ifinfo(AF_UNSPEC, 0, 0, 0);
        List<Link> out = new ArrayList<>();
        for (var r : exchange(m, "list links")) {
            if (r.type() == RTM_NEWLINK) {
                out.add(parseLink(r.body()));
            }
        }
        return out;
    }

    public synchronized Optional<Link> link(String name) {
        var m = new NetlinkMessage(RTM_GETLINK, F_REQUEST).ifinfo(AF_UNSPEC, 0, 0, 0).attrString(IFLA_IFNAME, name);
        try {
            for (var r : exchange(m, "get link " + name)) {
                if (r.type() == RTM_NEWLINK) {
                    return Optional.of(parseLink(r.body()));
                }
            }
            return Optional.empty();
        } catch (NetlinkException e) {
            if (e.notFound()) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static Link parseLink(ByteBuffer body) {
        int index = body.getInt(4);
        int flags = body.getInt(8);
        Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(body.position(16));
        String kind = "";
        if (a.containsKey(IFLA_LINKINFO)) {
            ByteBuffer k = NetlinkMessage.attributes(a.get(IFLA_LINKINFO)).get(IFLA_INFO_KIND);
            if (k != null) {
                kind = NetlinkMessage.string(k);
            }
        }
        String mac = a.containsKey(IFLA_ADDRESS) && a.get(IFLA_ADDRESS).remaining() == 6
                ? macText(NetlinkMessage.bytes(a.get(IFLA_ADDRESS))) : "";
        int mtu = a.containsKey(IFLA_MTU) ? a.get(IFLA_MTU).getInt(0) : 0;
        return new Link(index, NetlinkMessage.string(a.get(IFLA_IFNAME)), mac, mtu, flags, kind);
    }

    /** The parameters of a VXLAN device; silk-vtep uses VNI 1, port 4789, GBP on, learning off. */
    public record Vxlan(String name, int vni, int port, String localIp, int underlayIndex, int mtu, String mac, boolean gbp) {}

    public synchronized void createVxlan(Vxlan v) {
        var m = new NetlinkMessage(RTM_NEWLINK, F_REQUEST | F_ACK | F_CREATE | F_EXCL).ifinfo(AF_UNSPEC, 0, 0, 0)
                .attrString(IFLA_IFNAME, v.name()).attrU32(IFLA_MTU, v.mtu())
                .attr(IFLA_ADDRESS, mac(v.mac(), "vxlan mac"))
                .begin(IFLA_LINKINFO).attrString(IFLA_INFO_KIND, "vxlan").begin(IFLA_INFO_DATA)
                .attrU32(IFLA_VXLAN_ID, v.vni())
                .attr(IFLA_VXLAN_LOCAL, ip(v.localIp(), "vxlan local ip"))
                .attrU32(IFLA_VXLAN_LINK, v.underlayIndex())
                .attrBe16(IFLA_VXLAN_PORT, v.port())
                .attrU8(IFLA_VXLAN_LEARNING, 0);
        if (v.gbp()) {
            m.flag(IFLA_VXLAN_GBP);
        }
        m.end().end();
        exchange(m, "create vxlan " + v.name());
    }

    /**
     * Creates a veth pair: {@code name} here, {@code peerName} in the namespace whose file
     * descriptor is {@code peerNetnsFd} (or here when negative).
     */
    public synchronized void createVeth(String name, String mac, String peerName, String peerMac, int mtu, int peerNetnsFd) {
        var m = new NetlinkMessage(RTM_NEWLINK, F_REQUEST | F_ACK | F_CREATE | F_EXCL).ifinfo(AF_UNSPEC, 0, 0, 0)
                .attrString(IFLA_IFNAME, name).attrU32(IFLA_MTU, mtu).attr(IFLA_ADDRESS, mac(mac, "veth mac"))
                .begin(IFLA_LINKINFO).attrString(IFLA_INFO_KIND, "veth").begin(IFLA_INFO_DATA)
                .begin(VETH_INFO_PEER).ifinfo(AF_UNSPEC, 0, 0, 0)
                .attrString(IFLA_IFNAME, peerName).attrU32(IFLA_MTU, mtu).attr(IFLA_ADDRESS, mac(peerMac, "veth peer mac"));
        if (peerNetnsFd >= 0) {
            m.attrU32(IFLA_NET_NS_FD, peerNetnsFd);
        }
        m.end().end().end();
        exchange(m, "create veth " + name + "/" + peerName);
    }

    /** Sets (mask bits of) a link's flags: up, noarp. */
    public synchronized void setFlags(int index, int flags, int mask) {
        var m = new NetlinkMessage(RTM_NEWLINK, F_REQUEST | F_ACK).ifinfo(AF_UNSPEC, index, flags, mask);
        exchange(m, "set flags of link " + index);
    }

    public synchronized void deleteLink(int index) {
        var m = new NetlinkMessage(RTM_DELLINK, F_REQUEST | F_ACK).ifinfo(AF_UNSPEC, index, 0, 0);
        exchange(m, "delete link " + index);
    }

    // ---- addresses --------------------------------------------------------------------------

    /** Adds local/prefix on the link; with a peer, a point-to-point address (local peer peer/prefix). */
    public synchronized void addAddress(int index, String local, int prefix, String peer) {
        var m = new NetlinkMessage(RTM_NEWADDR, F_REQUEST | F_ACK | F_CREATE | F_REPLACE)
                .u8(AF_INET).u8(prefix).u8(0).u8(RT_SCOPE_UNIVERSE).u32(index)
                .attr(IFA_LOCAL, ip(local, "address"))
                .attr(IFA_ADDRESS, ip(peer == null ? local : peer, "peer address"));
        exchange(m, "add address " + local + "/" + prefix + " to link " + index);
    }

    public synchronized List<Address> addresses() {
        var m = new NetlinkMessage(RTM_GETADDR, F_REQUEST | F_DUMP).u8(AF_INET).u8(0).u8(0).u8(0).u32(0);
        List<Address> out = new ArrayList<>();
        for (var r : exchange(m, "list addresses")) {
            if (r.type() != RTM_NEWADDR) {
                continue;
            }
            ByteBuffer b = r.body();
            int prefix = Byte.toUnsignedInt(b.get(1));
            int index = b.getInt(4);
            var a = NetlinkMessage.attributes(b.position(8));
            String local = a.containsKey(IFA_LOCAL) ? ipText(NetlinkMessage.bytes(a.get(IFA_LOCAL))) : null;
            String addr = a.containsKey(IFA_ADDRESS) ? ipText(NetlinkMessage.bytes(a.get(IFA_ADDRESS))) : null;
            out.add(new Address(index, local != null ? local : addr, addr, prefix));
        }
        return out;
    }

    // ---- routes -----------------------------------------------------------------------------

    public synchronized void addRoute(Route r) {
        exchange(route(RTM_NEWROUTE, F_REQUEST | F_ACK | F_CREATE | F_REPLACE, r), "add route " + describe(r));
    }

    public synchronized void deleteRoute(Route r) {
        exchange(route(RTM_DELROUTE, F_REQUEST | F_ACK, r), "delete route " + describe(r));
    }

    private static NetlinkMessage route(int type, int flags, Route r) {
        var m = new NetlinkMessage(type, flags)
                .u8(AF_INET).u8(r.prefix()).u8(0).u8(0)
                .u8(RT_TABLE_MAIN).u8(r.protocol()).u8(r.gateway() == null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE)
                // onlink: the gateway is a remote VTEP address, reachable through the device even
                // when it lies outside the local subnet (e.g. another overlay network).
                .u8(RTN_UNICAST).u32(r.gateway() == null ? 0 : RTNH_F_ONLINK);
        if (r.prefix() > 0) {
            m.attr(RTA_DST, ip(r.destination(), "route destination"));
        }
        if (r.gateway() != null) {
            m.attr(RTA_GATEWAY, ip(r.gateway(), "route gateway"));
        }
        if (r.source() != null) {
            m.attr(RTA_PREFSRC, ip(r.source(), "route source"));
        }
        if (r.linkIndex() > 0) {
            m.attrU32(RTA_OIF, r.linkIndex());
        }
        return m;
    }

    private static String describe(Route r) {
        return r.destination() + "/" + r.prefix() + (r.gateway() != null ? " via " + r.gateway() : "")
                + " dev " + r.linkIndex();
    }

    /** IPv4 routes of the main table. */
    public synchronized List<Route> routes() {
        var m = new NetlinkMessage(RTM_GETROUTE, F_REQUEST | F_DUMP).u8(AF_INET).u8(0).u8(0).u8(0)
                .u8(0).u8(0).u8(0).u8(0).u32(0);
        List<Route> out = new ArrayList<>();
        for (var r : exchange(m, "list routes")) {
            if (r.type() != RTM_NEWROUTE) {
                continue;
            }
            ByteBuffer b = r.body();
            int prefix = Byte.toUnsignedInt(b.get(1));
            int table = Byte.toUnsignedInt(b.get(4));
            int protocol = Byte.toUnsignedInt(b.get(5));
            var a = NetlinkMessage.attributes(b.position(12));
            if (a.containsKey(RTA_TABLE)) {
                table = a.get(RTA_TABLE).getInt(0);
            }
            if (table != RT_TABLE_MAIN) {
                continue;
            }
            out.add(new Route(
                    a.containsKey(RTA_DST) ? ipText(NetlinkMessage.bytes(a.get(RTA_DST))) : "0.0.0.0",
                    prefix,
                    a.containsKey(RTA_GATEWAY) ? ipText(NetlinkMessage.bytes(a.get(RTA_GATEWAY))) : null,
                    a.containsKey(RTA_PREFSRC) ? ipText(NetlinkMessage.bytes(a.get(RTA_PREFSRC))) : null,
                    a.containsKey(RTA_OIF) ? a.get(RTA_OIF).getInt(0) : 0,
                    protocol));
        }
        return out;
    }

    // ---- neighbours -------------------------------------------------------------------------

    public synchronized void addNeighbor(Neighbor n) {
        exchange(neighbor(RTM_NEWNEIGH, F_REQUEST | F_ACK | F_CREATE | F_REPLACE, n), "add neighbour " + n);
    }

    public synchronized void deleteNeighbor(Neighbor n) {
        exchange(neighbor(RTM_DELNEIGH, F_REQUEST | F_ACK, n), "delete neighbour " + n);
    }

    private static NetlinkMessage neighbor(int type, int flags, Neighbor n) {
        var m = new NetlinkMessage(type, flags).u8(n.family()).u8(0).u16(0).u32(n.linkIndex())
                .u16(n.state()).u8(n.family() == AF_BRIDGE ? NTF_SELF : 0).u8(0);
        if (n.ip() != null) {
            m.attr(NDA_DST, ip(n.ip(), "neighbour ip"));
        }
        if (n.mac() != null) {
            m.attr(NDA_LLADDR, mac(n.mac(), "neighbour mac"));
        }
        return m;
    }

    /** ARP entries (AF_INET) or forwarding entries (AF_BRIDGE) of one link. */
    public synchronized List<Neighbor> neighbors(int family, int linkIndex) {
        var m = new NetlinkMessage(RTM_GETNEIGH, F_REQUEST | F_DUMP).u8(family).u8(0).u16(0).u32(0).u16(0).u8(0).u8(0);
        List<Neighbor> out = new ArrayList<>();
        for (var r : exchange(m, "list neighbours")) {
            if (r.type() != RTM_NEWNEIGH) {
                continue;
            }
            ByteBuffer b = r.body();
            int fam = Byte.toUnsignedInt(b.get(0));
            int index = b.getInt(4);
            int state = Short.toUnsignedInt(b.getShort(8));
            if (fam != family || index != linkIndex) {
                continue;
            }
            var a = NetlinkMessage.attributes(b.position(12));
            ByteBuffer dst = a.get(NDA_DST);
            ByteBuffer ll = a.get(NDA_LLADDR);
            out.add(new Neighbor(fam, index,
                    dst != null && dst.remaining() == 4 ? ipText(NetlinkMessage.bytes(dst)) : null,
                    ll != null && ll.remaining() == 6 ? macText(NetlinkMessage.bytes(ll)) : null,
                    state));
        }
        return out;
    }

    // ---- transport --------------------------------------------------------------------------

    /** Sends a request; returns the data messages of the answer; throws on a kernel error. */
    private List<NetlinkMessage.Received> exchange(NetlinkMessage message, String operation) {
        if (closed) {
            throw new IllegalStateException("netlink socket closed");
        }
        int mySeq = ++seq;
        byte[] req = message.finish(mySeq);
        NetlinkSockets.send(fd, req, req.length, operation);
        List<NetlinkMessage.Received> data = new ArrayList<>();
        while (true) {
            var got = Libc.recv(fd, receive, RECV_BUFFER);
            if (got.failed()) {
                throw new NetlinkException(operation + ": receive", got.errno());
            }
            ByteBuffer b = receive.asSlice(0, got.value()).asByteBuffer().order(ByteOrder.nativeOrder());
            boolean more = false;
            while (b.remaining() >= NetlinkMessage.NLMSG_HDRLEN) {
                int start = b.position();
                int len = b.getInt(start);
                int type = Short.toUnsignedInt(b.getShort(start + 4));
                int flags = Short.toUnsignedInt(b.getShort(start + 6));
                int s = b.getInt(start + 8);
                if (len < NetlinkMessage.NLMSG_HDRLEN || start + len > b.limit()) {
                    break;
                }
                ByteBuffer body = copy(b, start + NetlinkMessage.NLMSG_HDRLEN, len - NetlinkMessage.NLMSG_HDRLEN);
                b.position(Math.min(b.limit(), start + ((len + 3) & ~3)));
                if (s != mySeq) {
                    continue; // a late answer to an earlier request
                }
                if (type == NLMSG_DONE) {
                    return data;
                }
                if (type == NLMSG_ERROR) {
                    int error = body.getInt(0);
                    if (error == 0) {
                        return data;
                    }
                    throw new NetlinkException(operation, -error);
                }
                data.add(new NetlinkMessage.Received(type, flags, s, body));
                more = (flags & F_MULTI) != 0;
            }
            if (!more && !data.isEmpty()) {
                return data;
            }
        }
    }

    private static ByteBuffer copy(ByteBuffer b, int offset, int length) {
        byte[] raw = new byte[length];
        b.get(offset, raw);
        return ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
            arena.close();
        }
    }

    // ---- values -----------------------------------------------------------------------------
    // The records above stay in the kernel's text ("10.255.17.0", "ee:ee:0a:ff:11:00") so that
    // every caller reads them as ip(8) prints them; the codecs are silk-values', the only ones.

    private static byte[] ip(String text, String what) {
        return Ipv4Address.parse(text, what).bytes();
    }

    private static String ipText(byte[] b) {
        return Ipv4Address.of(b).toString();
    }

    private static byte[] mac(String text, String what) {
        return MacAddress.parse(text, what).bytes();
    }

    private static String macText(byte[] b) {
        return MacAddress.of(b).toString();
    }
}
