package io.silk.netlink;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** IPv4 addresses as the kernel writes them: four bytes in network order. */
public final class Ipv4Address {
    private Ipv4Address() {}

    public static byte[] bytes(String dotted) {
        try {
            InetAddress a = InetAddress.ofLiteral(dotted);
            if (!(a instanceof Inet4Address)) {
                throw new IllegalArgumentException("not an IPv4 address: " + dotted);
            }
            return a.getAddress();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not an IPv4 address: " + dotted, e);
        }
    }

    public static String text(byte[] b) {
        try {
            return InetAddress.getByAddress(b).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
