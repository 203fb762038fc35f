package io.silk.values;

/**
 * An IP address. The overlay is IPv4 today; the type is sealed so that an IPv6 address can join
 * it and every switch over addresses is then checked by the compiler.
 */
public sealed interface IpAddress permits Ipv4Address {

    /** The address bytes in network order. */
    byte[] bytes();

    /** Parses an IPv4 address (the only family the overlay carries today). */
    static IpAddress parse(String text, String what) {
        return Ipv4Address.parse(text, what);
    }
}
