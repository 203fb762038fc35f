package io.silk.netlink;

/**
 * A neighbour entry: an ARP entry (family {@link Netlink#AF_INET}: IP → MAC) or a forwarding
 * database entry (family {@link Netlink#AF_BRIDGE}: MAC → remote underlay IP, on a VXLAN device).
 */
public record Neighbor(int family, int linkIndex, String ip, String mac, int state) {
    public static final int NUD_PERMANENT = 0x80;

    public boolean permanent() {
        return (state & NUD_PERMANENT) != 0;
    }
}
