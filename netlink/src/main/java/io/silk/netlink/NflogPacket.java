package io.silk.netlink;

import io.silk.values.Ipv4Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * One IPv4 packet an nftables {@code log group N} statement handed to userspace (nfnetlink_log).
 *
 * @param group           the NFLOG group it was logged to
 * @param prefix          the rule's {@code prefix "..."}, or "" when it has none
 * @param mark            the packet's mark (skb->mark, unsigned 32 bits) when the rule logged it; 0 when unset
 * @param protocol        the IPv4 protocol number (1 icmp, 6 tcp, 17 udp, ...)
 * @param source          the IPv4 source address
 * @param destination     the IPv4 destination address
 * @param sourcePort      TCP/UDP source port; -1 for other protocols, non-first fragments or a cut header
 * @param destinationPort TCP/UDP destination port; -1 likewise
 * @param icmpType        ICMP type; -1 when not ICMP (or a non-first fragment / cut header)
 * @param icmpCode        ICMP code; -1 likewise
 * @param length          the packet's size in bytes: the IPv4 header's total length (not the copied
 *                        range); 0 for a BIG TCP super-packet above 64 KiB, whose header says 0
 * @param inInterface     index of the input interface, 0 when none (e.g. the output hook)
 * @param outInterface    index of the output interface, 0 when none (e.g. the input hook)
 */
public record NflogPacket(int group, String prefix, long mark, int protocol, Ipv4Address source, Ipv4Address destination,
                          int sourcePort, int destinationPort, int icmpType, int icmpCode, int length, int inInterface,
                          int outInterface) {

    public static final int ICMP = 1, TCP = 6, UDP = 17;

    static final int NFULA_PACKET_HDR = 1, NFULA_MARK = 2, NFULA_IFINDEX_INDEV = 4, NFULA_IFINDEX_OUTDEV = 5,
            NFULA_PAYLOAD = 9, NFULA_PREFIX = 10;
    static final int NFPROTO_IPV4 = 2;

    /**
     * Parses the body (after the netlink header) of an NFULNL_MSG_PACKET message: nfgenmsg, then
     * attributes. Unlike rtnetlink, nfnetlink's attribute values are big-endian (the attribute
     * headers themselves stay in host order). Returns null when the payload is not IPv4 (another
     * family, no payload, or too short to hold an IPv4 header).
     */
    static NflogPacket parse(ByteBuffer body) {
        if (body.remaining() < 4) {
            return null;
        }
        int family = Byte.toUnsignedInt(body.get(body.position()));
        int group = Short.toUnsignedInt(body.duplicate().order(ByteOrder.BIG_ENDIAN).getShort(body.position() + 2));
        Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(body.duplicate().position(body.position() + 4));
        ByteBuffer payload = a.get(NFULA_PAYLOAD);
        if (family != NFPROTO_IPV4 || payload == null) {
            return null;
        }
        ByteBuffer ip = payload.duplicate().order(ByteOrder.BIG_ENDIAN);
        if (ip.remaining() < 20 || (Byte.toUnsignedInt(ip.get(0)) >>> 4) != 4) {
            return null;
        }
        int headerLength = (ip.get(0) & 0x0f) * 4;
        int totalLength = Short.toUnsignedInt(ip.getShort(2));
        boolean firstFragment = (ip.getShort(6) & 0x1fff) == 0;
        int protocol = Byte.toUnsignedInt(ip.get(9));
        Ipv4Address source = new Ipv4Address(ip.getInt(12));
        Ipv4Address destination = new Ipv4Address(ip.getInt(16));

        int sourcePort = -1, destinationPort = -1, icmpType = -1, icmpCode = -1;
        int l4 = headerLength; // the transport header, when the copied range reaches it
        if (firstFragment && headerLength >= 20) {
            if ((protocol == TCP || protocol == UDP) && ip.remaining() >= l4 + 4) {
                sourcePort = Short.toUnsignedInt(ip.getShort(l4));
                destinationPort = Short.toUnsignedInt(ip.getShort(l4 + 2));
            } else if (protocol == ICMP && ip.remaining() >= l4 + 2) {
                icmpType = Byte.toUnsignedInt(ip.get(l4));
                icmpCode = Byte.toUnsignedInt(ip.get(l4 + 1));
            }
        }
        return new NflogPacket(group,
                a.containsKey(NFULA_PREFIX) ? NetlinkMessage.string(a.get(NFULA_PREFIX)) : "",
                a.containsKey(NFULA_MARK) ? Integer.toUnsignedLong(be32(a.get(NFULA_MARK))) : 0,
                protocol, source, destination, sourcePort, destinationPort, icmpType, icmpCode, totalLength,
                a.containsKey(NFULA_IFINDEX_INDEV) ? be32(a.get(NFULA_IFINDEX_INDEV)) : 0,
                a.containsKey(NFULA_IFINDEX_OUTDEV) ? be32(a.get(NFULA_IFINDEX_OUTDEV)) : 0);
    }

    private static int be32(ByteBuffer b) {
        return b.remaining() >= 4 ? b.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(0) : 0;
    }
}
