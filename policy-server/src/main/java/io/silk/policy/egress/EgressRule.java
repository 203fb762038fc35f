package io.silk.policy.egress;

import io.silk.policy.egress.EgressJson.Destination;
import io.silk.policy.egress.EgressJson.EgressPolicy;
import io.silk.policy.web.ApiError;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.Quote;
import java.util.List;

/** One validated egress policy, normalised to an address range. */
record EgressRule(String sourceId, String protocol, String startIp, String endIp, Integer startPort, Integer endPort,
        Integer icmpType, Integer icmpCode) {

    private static final String PREFIX = "mapper: validate egress policies: ";

    static List<EgressRule> from(List<EgressPolicy> policies) {
        if (policies == null || policies.isEmpty()) {
            throw ApiError.badRequest(PREFIX + "missing egress policies");
        }
        return policies.stream().map(EgressRule::from).toList();
    }

    static EgressRule from(EgressPolicy p) {
        if (p == null || p.source() == null || p.source().id() == null || p.source().id().isBlank()) {
            throw ApiError.badRequest(PREFIX + "missing source id");
        }
        if (p.source().id().length() > 255) {
            throw ApiError.badRequest(PREFIX + "source id " + Quote.shortened(p.source().id()) + " is longer than 255 characters");
        }
        Destination d = p.destination();
        if (d == null) {
            throw ApiError.badRequest(PREFIX + "missing destination");
        }
        String protocol = d.protocol();
        if (protocol == null) {
            throw ApiError.badRequest(PREFIX + "missing destination protocol, specify tcp, udp, icmp or all");
        }
        if (!List.of("tcp", "udp", "icmp", "all").contains(protocol)) {
            throw ApiError.badRequest(PREFIX + "invalid destination protocol, specify tcp, udp, icmp or all");
        }
        long start;
        long end;
        if (d.cidr() != null && d.ips() != null) {
            throw ApiError.badRequest(PREFIX + "give either destination cidr or destination ips, not both");
        } else if (d.cidr() != null) {
            long[] range = cidr(d.cidr());
            start = range[0];
            end = range[1];
        } else if (d.ips() != null) {
            start = ip(d.ips().start(), "destination ips start");
            end = ip(d.ips().end(), "destination ips end");
            if (start > end) {
                throw ApiError.badRequest(PREFIX + "invalid ip range " + d.ips().start() + "-" + d.ips().end()
                        + ", start must be less than or equal to end");
            }
        } else {
            throw ApiError.badRequest(PREFIX + "missing destination cidr or ips");
        }
        Integer startPort = null;
        Integer endPort = null;
        if (d.ports() != null) {
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw ApiError.badRequest(PREFIX + "ports are only for tcp and udp");
            }
            if (d.ports().start() < 1 || d.ports().end() > 65535 || d.ports().start() > d.ports().end()) {
                throw ApiError.badRequest(PREFIX + "invalid port range " + d.ports().start() + "-" + d.ports().end()
                        + ", must be within 1-65535 with start <= end");
            }
            startPort = d.ports().start();
            endPort = d.ports().end();
        }
        if ((d.icmpType() != null || d.icmpCode() != null) && !protocol.equals("icmp")) {
            throw ApiError.badRequest(PREFIX + "icmp_type and icmp_code are only for icmp");
        }
        for (Integer v : new Integer[] {d.icmpType(), d.icmpCode()}) {
            if (v != null && (v < -1 || v > 255)) {
                throw ApiError.badRequest(PREFIX + "icmp_type and icmp_code must be within -1 (any) and 255");
            }
        }
        return new EgressRule(p.source().id(), protocol, text(start), text(end), startPort, endPort, d.icmpType(), d.icmpCode());
    }

    EgressPolicy toJson() {
        return new EgressPolicy(new EgressJson.Source(sourceId), new Destination(null, new EgressJson.IpRange(startIp, endIp),
                protocol, startPort == null ? null : new EgressJson.Ports(startPort, endPort), icmpType, icmpCode));
    }

    private static long ip(String text, String what) {
        try {
            return Integer.toUnsignedLong(Ipv4Address.parse(text, what).bits());
        } catch (BadValue e) {
            throw ApiError.badRequest(PREFIX + e.getMessage());
        }
    }

    /** a.b.c.d/n; host bits may be set (cf's egress rules allow it): the range is the network that holds the address. */
    private static long[] cidr(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw ApiError.badRequest(PREFIX + "destination cidr " + Quote.shortened(text) + " is not in CIDR notation");
        }
        Ipv4Address base;
        try {
            base = Ipv4Address.parse(text.substring(0, slash), "destination cidr");
        } catch (BadValue e) {
            throw ApiError.badRequest(PREFIX + "destination cidr " + Quote.shortened(text) + " is not in CIDR notation");
        }
        String len = text.substring(slash + 1);
        if (!len.matches("\\d{1,2}") || Integer.parseInt(len) > 32) {
            throw ApiError.badRequest(PREFIX + "destination cidr " + Quote.shortened(text) + " has no valid prefix length");
        }
        Ipv4Network network = Ipv4Network.containing(base, Integer.parseInt(len));
        long start = Integer.toUnsignedLong(network.base().bits());
        return new long[] {start, start + network.size() - 1};
    }

    private static String text(long v) {
        return new Ipv4Address((int) v).toString();
    }
}
