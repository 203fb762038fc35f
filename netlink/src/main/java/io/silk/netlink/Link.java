package io.silk.netlink;

/** A network interface. {@code kind} is "vxlan", "veth", ... or "" for a plain device. */
public record Link(int index, String name, String mac, int mtu, int flags, String kind) {
    public static final int IFF_UP = 0x1;
    public static final int IFF_NOARP = 0x80;

    public boolean up() {
        return (flags & IFF_UP) != 0;
    }
}
