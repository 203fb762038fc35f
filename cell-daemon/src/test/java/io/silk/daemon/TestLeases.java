package io.silk.daemon;

import io.silk.daemon.lease.HeldLease;
import io.silk.daemon.vtep.RemoteLease;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;

/** Leases for tests, written as their strings. */
public final class TestLeases {

    private TestLeases() {}

    public static Ipv4Address ip(String text) {
        return Ipv4Address.parse(text, "test ip");
    }

    public static Ipv4Network net(String text) {
        return Ipv4Network.parse(text, "test network");
    }

    public static MacAddress mac(String text) {
        return MacAddress.parse(text, "test mac");
    }

    public static HeldLease held(String underlayIp, String subnet, String vtepMac, String overlayNetwork) {
        return new HeldLease(ip(underlayIp), net(subnet), mac(vtepMac), net(overlayNetwork));
    }

    public static RemoteLease remote(String underlayIp, String subnet, String vtepMac) {
        return new RemoteLease(ip(underlayIp), net(subnet), mac(vtepMac));
    }
}
