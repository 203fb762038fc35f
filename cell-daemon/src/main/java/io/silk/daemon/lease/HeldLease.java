package io.silk.daemon.lease;

/**
 * The lease this cell holds, as written to the state file.
 *
 * @param overlayNetwork the whole overlay network (the VTEP address takes its prefix)
 */
public record HeldLease(String underlayIp, String subnet, String vtepMac, String overlayNetwork) {

    /** The subnet base: the VTEP's address, e.g. 10.255.17.0. */
    public String baseIp() {
        return subnet.substring(0, subnet.indexOf('/'));
    }

    public int subnetPrefix() {
        return Integer.parseInt(subnet.substring(subnet.indexOf('/') + 1));
    }

    public int networkPrefix() {
        return Integer.parseInt(overlayNetwork.substring(overlayNetwork.indexOf('/') + 1));
    }

    /** "ee:ee:" + the four bytes of the subnet base. */
    public static String vtepMacFor(String baseIp) {
        return io.silk.netlink.MacAddress.derived("ee:ee", baseIp);
    }
}
