package io.silk.daemon.vtep;

import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.util.OptionalInt;

/**
 * A VTEP found in the kernel: its address is the lease's base IP with the overlay network's
 * prefix (10.255.34.0/16), its MAC the lease's VTEP MAC. The subnet's own prefix is not on the
 * VTEP; the daemon's routes to other cells carry it (all subnets of a pool have one prefix).
 *
 * @param subnetPrefix the prefix of the daemon's routes on the VTEP, when there are any
 */
public record VtepInKernel(Ipv4Address base, int networkPrefix, MacAddress mac, OptionalInt subnetPrefix) {

    public Ipv4Network network() {
        return Ipv4Network.containing(base, networkPrefix);
    }
}
