package io.silk.daemon.policy.verdict;

import java.time.Instant;

/**
 * One packet the cell's policy decided on, named in the operator's terms: the apps at both ends
 * (or the address outside the overlay), what was asked for, and why it was refused or let in.
 *
 * @param sourceApp      the source container's app; for traffic from another cell, the app whose tag the
 *                       packet carried ("tag:0x5" when no policy on this cell names it)
 * @param destinationApp the destination container's app, or "" for an address outside the overlay
 * @param port           destination port (tcp/udp), or -1
 * @param icmpType       ICMP type, or -1
 */
public record Verdict(Instant at, Kind kind, String sourceApp, String sourceIp, String destinationApp, String destinationIp,
        String protocol, int port, int icmpType, int bytes, String reason) {

    public enum Kind {
        DENIED_INGRESS("denied"), DENIED_EGRESS("denied"), ALLOWED_INGRESS("allowed"), ALLOWED_EGRESS("allowed");

        final String word;

        Kind(String word) {
            this.word = word;
        }

        public boolean denied() {
            return this == DENIED_INGRESS || this == DENIED_EGRESS;
        }

        public String direction() {
            return this == DENIED_EGRESS || this == ALLOWED_EGRESS ? "egress" : "ingress";
        }
    }

    /** e.g. {@code denied app=frontend(10.255.2.2) -> app=backend(10.255.1.2) tcp/8080: no policy allows it}. */
    public String line() {
        return kind.word + " " + end(sourceApp, sourceIp) + " -> " + end(destinationApp, destinationIp) + " " + what()
                + ": " + reason;
    }

    /** {@code tcp/8080}, {@code icmp type 8}, or the protocol alone. */
    public String what() {
        if (port >= 0) {
            return protocol + "/" + port;
        }
        return icmpType >= 0 ? protocol + " type " + icmpType : protocol;
    }

    private static String end(String app, String ip) {
        return app.isEmpty() ? ip : "app=" + app + "(" + ip + ")";
    }

    /** One JSON object, as {@code /flows} streams it. */
    public String json() {
        return "{\"time\":\"" + at + "\",\"verdict\":\"" + kind.word + "\",\"direction\":\"" + kind.direction()
                + "\",\"source_app\":" + quote(sourceApp) + ",\"source_ip\":" + quote(sourceIp)
                + ",\"destination_app\":" + quote(destinationApp) + ",\"destination_ip\":" + quote(destinationIp)
                + ",\"protocol\":" + quote(protocol) + ",\"port\":" + port + ",\"icmp_type\":" + icmpType
                + ",\"bytes\":" + bytes + ",\"reason\":" + quote(reason) + "}";
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
