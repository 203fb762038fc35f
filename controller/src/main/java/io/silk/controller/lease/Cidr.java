package io.silk.controller.lease;

/** An IPv4 network in CIDR notation whose host bits are zero, e.g. 10.255.17.0/24. */
public record Cidr(int base, int prefix) {

    public static Cidr parse(String text, String what) {
        if (text == null || text.isEmpty()) {
            throw LeaseRejection.invalid(what + " is empty");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw LeaseRejection.invalid(what + " \"" + text + "\" is not in CIDR notation (a.b.c.d/n)");
        }
        int base = Ipv4.parse(text.substring(0, slash), what);
        String len = text.substring(slash + 1);
        if (len.isEmpty() || len.length() > 2 || !len.chars().allMatch(Character::isDigit)) {
            throw LeaseRejection.invalid(what + " \"" + text + "\" has no valid prefix length");
        }
        int prefix = Integer.parseInt(len);
        if (prefix > 32) {
            throw LeaseRejection.invalid(what + " \"" + text + "\" has a prefix length above 32");
        }
        if ((base & ~mask(prefix)) != 0) {
            throw LeaseRejection.invalid(what + " \"" + text + "\" has host bits set; did you mean "
                    + new Cidr(base & mask(prefix), prefix) + "?");
        }
        return new Cidr(base, prefix);
    }

    static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    public boolean contains(Cidr other) {
        return other.prefix >= prefix && (other.base & mask(prefix)) == base;
    }

    /** The VTEP MAC Silk derives from a subnet base: ee:ee + the four address bytes. */
    public String vtepMac() {
        return String.format("ee:ee:%02x:%02x:%02x:%02x",
                (base >>> 24) & 0xff, (base >>> 16) & 0xff, (base >>> 8) & 0xff, base & 0xff);
    }

    @Override
    public String toString() {
        return Ipv4.format(base) + "/" + prefix;
    }
}
