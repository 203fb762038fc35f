package io.silk.daemon.vtep;

/** Another cell's lease, as the overlay needs it: where its subnet lives and how to reach it. */
public record RemoteLease(String underlayIp, String subnet, String vtepMac) {

    public String baseIp() {
        return subnet.substring(0, subnet.indexOf('/'));
    }

    public int prefix() {
        return Integer.parseInt(subnet.substring(subnet.indexOf('/') + 1));
    }
}
