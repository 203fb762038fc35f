package io.silk.controller.lease;

import io.silk.values.Ipv4Network;

/**
 * The overlay network and the size of the subnets leased from it. Subnet 0 (the one holding the
 * network address) is never leased to a cell, as in Silk, so a /16 with /24 subnets offers 255:
 * it is Silk's single-IP block, from which hosts without containers (routers) lease one address
 * each, a /32 ({@code single_overlay_ip}), .1 up to the block's last address (255 for a /24).
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

    /** Subnet 0, where single overlay IPs come from: 10.255.0.0/24. */
    public Ipv4Network singleIpBlock() {
        return new Ipv4Network(network.base(), subnetPrefix);
    }

    /** How many single overlay IPs there are: every address of the block but its first. */
    public int singleIpCount() {
        return (1 << (32 - subnetPrefix)) - 1;
    }

    /** True when the subnet is a single overlay IP this pool hands out: a /32 in subnet 0, not its first address. */
    public boolean offersSingleIp(Ipv4Network subnet) {
        return subnet.prefix() == 32 && singleIpBlock().contains(subnet) && !subnet.base().equals(network.base());
    }

    /** What the pool offers, for messages: "10.255.0.0/16 in /24 subnets (not subnet 0), single IPs in 10.255.0.0/24". */
    public String describe() {
        return network + " in /" + subnetPrefix + " subnets (not subnet 0), single IPs in " + singleIpBlock();
    }
}
