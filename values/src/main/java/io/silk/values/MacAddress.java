package io.silk.values;

/** A 48-bit MAC address, written "aa:bb:cc:dd:ee:ff". */
public record MacAddress(long bits) {

    public MacAddress {
        if ((bits & ~0xffff_ffff_ffffL) != 0) {
            throw new BadValue("a MAC address has 48 bits");
        }
    }

    public static MacAddress parse(String text, String what) {
        if (text == null || text.length() != 17) {
            throw BadValue.of(what, text, "is not a MAC address (aa:bb:cc:dd:ee:ff)");
        }
        long v = 0;
        for (int i = 0; i < 17; i++) {
            char c = text.charAt(i);
            if (i % 3 == 2) {
                if (c != ':') {
                    throw BadValue.of(what, text, "is not a MAC address (aa:bb:cc:dd:ee:ff)");
                }
                continue;
            }
            int d = Character.digit(c, 16);
            if (d < 0) {
                throw BadValue.of(what, text, "is not a MAC address (aa:bb:cc:dd:ee:ff)");
            }
            v = (v << 4) | d;
        }
        return new MacAddress(v);
    }

    public static MacAddress of(byte[] b) {
        if (b.length != 6) {
            throw new BadValue("a MAC address has 6 bytes, not " + b.length);
        }
        long v = 0;
        for (byte x : b) {
            v = (v << 8) | (x & 0xff);
        }
        return new MacAddress(v);
    }

    /** Silk's MACs: a two-byte prefix and the four bytes of an IPv4 address. */
    static MacAddress derived(int prefix16, Ipv4Address address) {
        return new MacAddress(((long) prefix16 << 32) | (address.bits() & 0xffff_ffffL));
    }

    public byte[] bytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (bits >>> (40 - 8 * i));
        }
        return b;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                s.append(':');
            }
            int octet = (int) (bits >>> (40 - 8 * i)) & 0xff;
            s.append(Character.forDigit(octet >> 4, 16)).append(Character.forDigit(octet & 0xf, 16));
        }
        return s.toString();
    }
}
