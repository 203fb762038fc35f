package io.silk.controller.lease;

import io.silk.values.Ipv4Network;

/**
 * The overlay network and the size of the subnets leased from it. Subnet 0 (the one holding the
 * network address) is never leased, as in Silk, so a /16 with /24 subnets offers 255.
 */
public record OverlayPool(Ipv4Network network, int subnetPrefix) {

    public static OverlayPool of(Ipv4Network network, int subnetPrefix) {
        if (subnetPrefix <= network.prefix() || subnetPrefix > 30) {
            throw new IllegalStateException("silk.controller.lease.subnet-prefix " + subnetPrefix
                    + " must be longer than the network's /" + network.prefix() + " and at most 30");
        }
        if (subnetPrefix - network.prefix() > 24) {
            throw new IllegalStateException("silk.controller.lease: " + network + " with /" + subnetPrefix
                    + " subnets makes more than 16M subnets; use a longer network prefix");
        }
        return new OverlayPool(network, subnetPrefix);
    }

    public int size() {
        return (1 << (subnetPrefix - network.prefix())) - 1;
    }

    /** True when the subnet is one this pool hands out: inside the network, at the pool's prefix, not subnet 0. */
    public boolean offers(Ipv4Network subnet) {
        return subnet.prefix() == subnetPrefix && network.contains(subnet) && !subnet.base().equals(network.base());
    }

    /** What the pool offers, for messages: "10.255.0.0/16 in /24 subnets (not subnet 0)". */
    public String describe() {
        return network + " in /" + subnetPrefix + " subnets (not subnet 0)";
    }
}
