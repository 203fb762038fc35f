package io.silk.policy.securitygroup;

import io.silk.policy.web.ApiError;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.Quote;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.springframework.http.HttpStatus;
import tools.jackson.databind.JsonNode;

/**
 * Cloud Foundry's security-group rules, checked as the Cloud Controller checks them and parsed
 * into the address and port ranges cells enforce. A rule: {@code protocol} tcp, udp, icmp or all;
 * {@code destination} an address, a CIDR, a range {@code a-b}, or a comma-separated list of those;
 * {@code ports} (tcp and udp, required there) a port, a list or a range; {@code type} and
 * {@code code} (icmp, required there, -1 for any); {@code log}; {@code description}.
 */
public final class SecurityGroupRules {

    /** An inclusive IPv4 range, dotted. */
    public record AddressRange(String start, String end) {}

    /** An inclusive port range. */
    public record PortRange(int start, int end) {}

    /**
     * One rule parsed, as the policy log carries it to cells (its JSON, in snake case, is what
     * the controller reads: PolicyEventLog).
     */
    public record Entry(String protocol, List<AddressRange> destinations, List<PortRange> ports, int icmpType, int icmpCode,
            boolean log) {}

    public static final int MAX_RULES = 5_000;
    private static final Set<String> PROTOCOLS = Set.of("tcp", "udp", "icmp", "all");
    private static final Set<String> FIELDS = Set.of("protocol", "destination", "ports", "type", "code", "log", "description");

    private SecurityGroupRules() {}

    /** The rules parsed; a rule that is not cf's gets 422 naming it ({@code rules[2]: ...}). */
    public static List<Entry> parse(JsonNode rules) {
        if (rules == null || rules.isNull() || rules.isMissingNode()) {
            return List.of();
        }
        if (!rules.isArray()) {
            throw invalid("rules must be an array");
        }
        if (rules.size() > MAX_RULES) {
            throw invalid("rules: at most " + MAX_RULES + " rules per security group, not " + rules.size());
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < rules.size(); i++) {
            entries.add(entry(rules.get(i), "rules[" + i + "]"));
        }
        return entries;
    }

    private static Entry entry(JsonNode r, String where) {
        if (!r.isObject()) {
            throw invalid(where + " must be an object");
        }
        List<String> unknown = r.propertyNames().stream().filter(f -> !FIELDS.contains(f)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw invalid(where + ": unknown field(s): " + Quote.shortened(String.join(", ", unknown)));
        }
        String protocol = text(r, "protocol", where);
        if (protocol == null || !PROTOCOLS.contains(protocol)) {
            throw invalid(where + ": protocol must be tcp, udp, icmp or all"
                    + (protocol == null ? "" : ", not " + Quote.shortened(protocol)));
        }
        String destination = text(r, "destination", where);
        if (destination == null || destination.isBlank()) {
            throw invalid(where + ": destination is required");
        }
        List<AddressRange> destinations = new ArrayList<>();
        for (String d : destination.split(",", -1)) {
            destinations.add(destination(d.strip(), where));
        }
        String ports = text(r, "ports", where);
        boolean hasType = r.has("type");
        boolean hasCode = r.has("code");
        if (r.has("log") && !r.get("log").isBoolean()) {
            throw invalid(where + ": log must be a boolean");
        }
        if (r.has("description") && !r.get("description").isString()) {
            throw invalid(where + ": description must be a string");
        }
        boolean log = r.path("log").asBoolean(false);
        switch (protocol) {
            case "tcp", "udp" -> {
                if (hasType || hasCode) {
                    throw invalid(where + ": type and code are only for icmp");
                }
                if (ports == null || ports.isBlank()) {
                    throw invalid(where + ": ports are required for protocols of type TCP and UDP");
                }
                return new Entry(protocol, destinations, ports(ports, where), -1, -1, log);
            }
            case "icmp" -> {
                if (ports != null) {
                    throw invalid(where + ": ports are only for tcp and udp");
                }
                if (!hasType || !hasCode) {
                    throw invalid(where + ": type and code are required for icmp (-1: any)");
                }
                return new Entry(protocol, destinations, List.of(), icmp(r, "type", where), icmp(r, "code", where), log);
            }
            default -> {
                if (ports != null || hasType || hasCode) {
                    throw invalid(where + ": protocol all takes no ports, type or code");
                }
                return new Entry(protocol, destinations, List.of(), -1, -1, log);
            }
        }
    }

    private static String text(JsonNode r, String field, String where) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isString()) {
            throw invalid(where + ": " + field + " must be a string");
        }
        return v.asString();
    }

    private static AddressRange destination(String d, String where) {
        try {
            int dash = d.indexOf('-');
            if (dash >= 0) {
                Ipv4Address start = Ipv4Address.parse(d.substring(0, dash).strip(), "start");
                Ipv4Address end = Ipv4Address.parse(d.substring(dash + 1).strip(), "end");
                if (start.compareTo(end) > 0) {
                    throw invalid(where + ": destination " + Quote.shortened(d) + " ends before it starts");
                }
                return new AddressRange(start.toString(), end.toString());
            }
            if (d.contains("/")) {
                Ipv4Network n = Ipv4Network.parse(d, "destination");
                return new AddressRange(n.base().toString(), n.base().plus((int) (n.size() - 1)).toString());
            }
            Ipv4Address a = Ipv4Address.parse(d, "destination");
            return new AddressRange(a.toString(), a.toString());
        } catch (BadValue e) {
            throw invalid(where + ": destination " + Quote.shortened(d) + " is not an IPv4 address, CIDR or range");
        }
    }

    private static List<PortRange> ports(String ports, String where) {
        List<PortRange> ranges = new ArrayList<>();
        for (String p : ports.split(",", -1)) {
            String s = p.strip();
            int dash = s.indexOf('-');
            int start = port(dash < 0 ? s : s.substring(0, dash).strip(), ports, where);
            int end = dash < 0 ? start : port(s.substring(dash + 1).strip(), ports, where);
            if (start > end) {
                throw invalid(where + ": ports " + Quote.shortened(ports) + ": a range ends before it starts");
            }
            ranges.add(new PortRange(start, end));
        }
        return ranges;
    }

    private static int port(String s, String ports, String where) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw invalid(where + ": ports " + Quote.shortened(ports) + " are not ports 1 to 65535 (443, 80,443 or 8080-8090)");
    }

    private static int icmp(JsonNode r, String field, String where) {
        JsonNode v = r.get(field);
        if (!v.isIntegralNumber() || v.asInt() < -1 || v.asInt() > 255) {
            throw invalid(where + ": " + field + " must be an integer from -1 (any) to 255");
        }
        return v.asInt();
    }

    private static ApiError invalid(String message) {
        return new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, message);
    }
}
