package io.silk.values;

/** An IPv4 network whose host bits are zero, e.g. 10.255.17.0/24. */
public record Ipv4Network(Ipv4Address base, int prefix) implements IpNetwork {

    public Ipv4Network {
        if (prefix < 0 || prefix > 32) {
            throw new BadValue("prefix length " + prefix + " is outside 0..32");
        }
        if ((base.bits() & ~mask(prefix)) != 0) {
            throw new BadValue(base + "/" + prefix + " has host bits set");
        }
    }

    /** Parses "a.b.c.d/n" with zero host bits; {@code what} names the field in the error. */
    public static Ipv4Network parse(String text, String what) {
        if (text == null || text.isEmpty()) {
            throw new BadValue(what + " is empty");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw BadValue.of(what, text, "is not in CIDR notation (a.b.c.d/n)");
        }
        Ipv4Address base;
        try {
            base = Ipv4Address.parse(text.substring(0, slash), what);
        } catch (BadValue e) {
            throw BadValue.of(what, text, "is not in CIDR notation (a.b.c.d/n)");
        }
        String len = text.substring(slash + 1);
        if (len.isEmpty() || len.length() > 2 || !len.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw BadValue.of(what, text, "has no valid prefix length");
        }
        int prefix = Integer.parseInt(len);
        if (prefix > 32) {
            throw BadValue.of(what, text, "has a prefix length above 32");
        }
        if ((base.bits() & ~mask(prefix)) != 0) {
            throw BadValue.of(what, text, "has host bits set; did you mean "
                    + new Ipv4Network(new Ipv4Address(base.bits() & mask(prefix)), prefix) + "?");
        }
        return new Ipv4Network(base, prefix);
    }

    /** The network of the given prefix that holds {@code address}. */
    public static Ipv4Network containing(Ipv4Address address, int prefix) {
        return new Ipv4Network(new Ipv4Address(address.bits() & mask(prefix)), prefix);
    }

    public static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    public boolean contains(Ipv4Network other) {
        return other.prefix >= prefix && (other.base.bits() & mask(prefix)) == base.bits();
    }

    public boolean contains(Ipv4Address address) {
        return (address.bits() & mask(prefix)) == base.bits();
    }

    /** Addresses in the network, including base and broadcast. */
    public long size() {
        return 1L << (32 - prefix);
    }

    @Override
    public String toString() {
        return base + "/" + prefix;
    }
}
