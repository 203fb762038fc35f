package io.silk.daemon.lease;

import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.util.Objects;

/**
 * The lease this cell holds, typed: parsed once where it enters the daemon (the controller's
 * answer, the state file, the VTEP in the kernel). {@link StateFile} writes it to disk as strings ({@link ValuesJson}).
 *
 * @param subnet         this cell's overlay subnet, e.g. 10.255.17.0/24; its base is the VTEP's address
 * @param overlayNetwork the whole overlay network (the VTEP address takes its prefix)
 */
public record HeldLease(Ipv4Address underlayIp, Ipv4Network subnet, MacAddress vtepMac, Ipv4Network overlayNetwork) {

    public HeldLease {
        Objects.requireNonNull(underlayIp, "underlayIp");
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(vtepMac, "vtepMac");
        Objects.requireNonNull(overlayNetwork, "overlayNetwork");
    }

    /** The subnet base: the VTEP's address, e.g. 10.255.17.0. */
    public Ipv4Address baseIp() {
        return subnet.base();
    }
}
