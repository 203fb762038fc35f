package io.silk.daemon.vtep;

import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.util.Objects;

/** Another cell's lease, as the overlay needs it: where its subnet lives and how to reach it. */
public record RemoteLease(Ipv4Address underlayIp, Ipv4Network subnet, MacAddress vtepMac) {

    public RemoteLease {
        Objects.requireNonNull(underlayIp, "underlayIp");
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(vtepMac, "vtepMac");
    }

    /** The subnet base: the remote VTEP's address. */
    public Ipv4Address baseIp() {
        return subnet.base();
    }
}
