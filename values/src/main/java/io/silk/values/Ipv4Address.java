package io.silk.values;

/** An IPv4 address, its 32 bits held in an int. Parsed strictly: dotted quad, no leading zeros. */
public record Ipv4Address(int bits) implements IpAddress, Comparable<Ipv4Address> {

    /** Parses "a.b.c.d"; {@code what} names the field in the error. */
    public static Ipv4Address parse(String text, String what) {
        if (text == null || text.isEmpty()) {
            throw new BadValue(what + " is empty");
        }
        int value = 0;
        int octets = 0;
        int i = 0;
        int n = text.length();
        while (i <= n) {
            int start = i;
            int octet = 0;
            while (i < n && text.charAt(i) != '.') {
                char c = text.charAt(i);
                if (c < '0' || c > '9' || i - start >= 3) {
                    throw BadValue.of(what, text, "is not an IPv4 address (a.b.c.d)");
                }
                octet = octet * 10 + (c - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || (digits > 1 && text.charAt(start) == '0') || ++octets > 4) {
                throw BadValue.of(what, text, "is not an IPv4 address (a.b.c.d)");
            }
            if (octet > 255) {
                throw BadValue.of(what, text, "has an octet above 255");
            }
            value = (value << 8) | octet;
            i++; // past the dot (or past the end)
        }
        if (octets != 4) {
            throw BadValue.of(what, text, "is not an IPv4 address (a.b.c.d)");
        }
        return new Ipv4Address(value);
    }

    public static Ipv4Address of(byte[] b) {
        if (b.length != 4) {
            throw new BadValue("an IPv4 address has 4 bytes, not " + b.length);
        }
        return new Ipv4Address(((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff));
    }

    @Override
    public byte[] bytes() {
        return new byte[] {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits};
    }

    /** The address {@code n} above this one (wrapping is the caller's concern). */
    public Ipv4Address plus(int n) {
        return new Ipv4Address(bits + n);
    }

    @Override
    public int compareTo(Ipv4Address o) {
        return Integer.compareUnsigned(bits, o.bits);
    }

    @Override
    public String toString() {
        return ((bits >>> 24) & 0xff) + "." + ((bits >>> 16) & 0xff) + "." + ((bits >>> 8) & 0xff) + "." + (bits & 0xff);
    }
}
