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
}
