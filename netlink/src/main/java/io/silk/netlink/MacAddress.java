package io.silk.netlink;

import java.util.HexFormat;

/** MAC addresses as "aa:bb:cc:dd:ee:ff". */
public final class MacAddress {
    private static final HexFormat HEX = HexFormat.ofDelimiter(":");

    private MacAddress() {}

    public static byte[] bytes(String text) {
        byte[] b = HEX.parseHex(text.toLowerCase());
        if (b.length != 6) {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        return b;
    }

    public static String text(byte[] b) {
        return HEX.formatHex(b);
    }

    /**
     * Silk's MACs derived from an IPv4 address: a two-byte prefix and the four address bytes,
     * e.g. derived("ee:ee", "10.255.17.0") = "ee:ee:0a:ff:11:00".
     */
    public static String derived(String prefix, String ipv4) {
        return prefix + ":" + HEX.formatHex(Ipv4Address.bytes(ipv4));
    }
}
