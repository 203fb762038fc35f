package io.silk.controller.lease;

/** Strict dotted-quad IPv4 parsing, with messages that name the offending value. */
public final class Ipv4 {
    private Ipv4() {}

    /** Parses "a.b.c.d" into an unsigned 32-bit value held in an int. */
    public static int parse(String text, String what) {
        if (text == null || text.isEmpty()) {
            throw LeaseRejection.invalid(what + " is empty");
        }
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw LeaseRejection.invalid(what + " \"" + text + "\" is not an IPv4 address (a.b.c.d)");
        }
        int value = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(Character::isDigit)
                    || (part.length() > 1 && part.charAt(0) == '0')) {
                throw LeaseRejection.invalid(what + " \"" + text + "\" is not an IPv4 address (a.b.c.d)");
            }
            int octet = Integer.parseInt(part);
            if (octet > 255) {
                throw LeaseRejection.invalid(what + " \"" + text + "\" has an octet above 255");
            }
            value = (value << 8) | octet;
        }
        return value;
    }

    public static String format(int address) {
        return ((address >>> 24) & 0xff) + "." + ((address >>> 16) & 0xff) + "."
                + ((address >>> 8) & 0xff) + "." + (address & 0xff);
    }
}
