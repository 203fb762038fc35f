package io.silk.values;

/** An IP network in CIDR notation. Sealed for the same reason as {@link IpAddress}. */
public sealed interface IpNetwork permits Ipv4Network {

    IpAddress base();

    int prefix();

    static IpNetwork parse(String text, String what) {
        return Ipv4Network.parse(text, what);
    }
}
