package io.silk.values;

/**
 * The MAC addresses Silk derives from IPv4 addresses, so that a Silk cell and one of ours agree on
 * the wire. The VTEP rule exists once more, in SQL ({@code vtep_mac(cidr)} in the migrations); a
 * controller test holds the two together.
 */
public final class SilkMacs {

    private static final int EE_EE = 0xeeee;
    private static final int AA_AA = 0xaaaa;

    private SilkMacs() {}

    /** A cell's VTEP: ee:ee + the subnet's base address (10.255.17.0/24 → ee:ee:0a:ff:11:00). */
    public static MacAddress vtep(Ipv4Network subnet) {
        return MacAddress.derived(EE_EE, subnet.base());
    }

    /** The container side of a container's veth: ee:ee + the container address. */
    public static MacAddress containerSide(Ipv4Address container) {
        return MacAddress.derived(EE_EE, container);
    }

    /** The host side of a container's veth: aa:aa + the container address. */
    public static MacAddress hostSide(Ipv4Address container) {
        return MacAddress.derived(AA_AA, container);
    }

    /**
     * Whether {@code mac} carries the ee:ee prefix of a VTEP (or container side) MAC: how a cell
     * tells the ARP and FDB entries Silk made from anyone else's.
     */
    public static boolean isVtepPrefixed(MacAddress mac) {
        return (mac.bits() >>> 32) == EE_EE;
    }
}
