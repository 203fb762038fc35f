package io.silk.daemon.controller;

import io.silk.daemon.lease.HeldLease;
import io.silk.daemon.vtep.RemoteLease;
import io.silk.proto.v1.Lease;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;

/**
 * Where leases from the controller enter the daemon: the proto's strings parsed once, into the
 * typed leases the rest of the daemon passes around. A value that does not parse throws
 * {@link BadValue} naming the proto field, its input quoted shortened.
 */
public final class Leases {

    private Leases() {}

    /** This cell's lease from an Acquire, Renew or List answer, with the answer's overlay_network. */
    public static HeldLease held(Lease l, String overlayNetwork) {
        return new HeldLease(
                Ipv4Address.parse(l.getUnderlayIp(), "lease.underlay_ip"),
                Ipv4Network.parse(l.getOverlaySubnet(), "lease.overlay_subnet"),
                MacAddress.parse(l.getOverlayHardwareAddr(), "lease.overlay_hardware_addr"),
                Ipv4Network.parse(overlayNetwork, "overlay_network"));
    }

    /** Another cell's lease, from the lease watch. */
    public static RemoteLease remote(Lease l) {
        return new RemoteLease(
                Ipv4Address.parse(l.getUnderlayIp(), "lease.underlay_ip"),
                Ipv4Network.parse(l.getOverlaySubnet(), "lease.overlay_subnet"),
                MacAddress.parse(l.getOverlayHardwareAddr(), "lease.overlay_hardware_addr"));
    }
}
