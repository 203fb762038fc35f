package io.silk.values;

/**
 * The MAC addresses Silk derives from IPv4 addresses, so that a Silk cell and one of ours agree on
 * the wire. The VTEP rule exists once more, in SQL ({@code vtep_mac(cidr)} in the migrations); a
 * controller test holds the two together.
 */
public final class SilkMacs {

    private SilkMacs() {}

    /** A cell's VTEP: ee:ee + the subnet's base address (10.255.17.0/24 → ee:ee:0a:ff:11:00). */
    public static MacAddress vtep(Ipv4Network subnet) {
        return MacAddress.derived(0xeeee, subnet.base());
    }

    /** The container side of a container's veth: ee:ee + the container address. */
    public static MacAddress containerSide(Ipv4Address container) {
        return MacAddress.derived(0xeeee, container);
    }

    /** The host side of a container's veth: aa:aa + the container address. */
    public static MacAddress hostSide(Ipv4Address container) {
        return MacAddress.derived(0xaaaa, container);
    }
}
