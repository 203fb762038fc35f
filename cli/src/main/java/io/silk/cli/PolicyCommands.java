package io.silk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The cf-style network-policy commands, against the policy server. */
final class PolicyCommands {

    private PolicyCommands() {}

    static ObjectNode policy(String source, String destination, String protocol, int[] ports) {
        ObjectNode p = PolicyClient.JSON.createObjectNode();
        p.putObject("source").put("id", source);
        ObjectNode d = p.putObject("destination").put("id", destination).put("protocol", protocol);
        d.putObject("ports").put("start", ports[0]).put("end", ports[1]);
        return p;
    }

    static ObjectNode wrap(String field, List<? extends JsonNode> items) {
        ObjectNode body = PolicyClient.JSON.createObjectNode();
        ArrayNode a = body.putArray(field);
        items.forEach(a::add);
        return body;
    }

    /** "8080" or "8080-8090". */
    static int[] ports(String text) {
        String[] parts = text.split("-", 2);
        try {
            int start = Integer.parseInt(parts[0].trim());
            int end = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : start;
            return new int[] {start, end};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--port \"" + text + "\" is not a port or a range (8080, 8080-8090)");
        }
    }

    static String describe(JsonNode p) {
        JsonNode d = p.get("destination");
        return p.at("/source/id").asText() + " -> " + d.path("id").asText() + " " + d.path("protocol").asText() + " "
                + portsText(d.path("ports"));
    }

    static String portsText(JsonNode ports) {
        if (ports.isMissingNode() || ports.isNull()) {
            return "";
        }
        int s = ports.path("start").asInt();
        int e = ports.path("end").asInt();
        return s == e ? String.valueOf(s) : s + "-" + e;
    }

    @Command(name = "add-network-policy", description = "Allow SOURCE app to reach DEST app on a protocol and port(s).")
    static final class Add implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "SOURCE") String source;
        @Option(names = "--destination-app", required = true, paramLabel = "DEST") String destination;
        @Option(names = "--protocol", defaultValue = "tcp", description = "tcp or udp (default ${DEFAULT-VALUE}).") String protocol;
        @Option(names = "--port", defaultValue = "8080", description = "A port or a range, 8080 or 8080-8090 (default ${DEFAULT-VALUE}).") String port;

        @Override
        public Integer call() {
            target.client().post("/policies", wrap("policies", List.of(policy(source, destination, protocol, ports(port)))));
            spec.commandLine().getOut().printf("Added network policy from %s to %s (%s %s)%n", source, destination, protocol, port);
            return 0;
        }
    }

    @Command(name = "remove-network-policy", description = "Remove the policy that lets SOURCE reach DEST.")
    static final class Remove implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "SOURCE") String source;
        @Option(names = "--destination-app", required = true, paramLabel = "DEST") String destination;
        @Option(names = "--protocol", required = true) String protocol;
        @Option(names = "--port", required = true) String port;

        @Override
        public Integer call() {
            var client = target.client();
            ObjectNode wanted = policy(source, destination, protocol, ports(port));
            boolean exists = false;
            for (JsonNode p : client.get("/policies?id=" + source).path("policies")) {
                exists |= p.equals(wanted);
            }
            if (!exists) {
                spec.commandLine().getErr().printf("silk: policy does not exist: %s%n", describe(wanted));
                return SilkCommand.REFUSED;
            }
            client.post("/policies/delete", wrap("policies", List.of(wanted)));
            spec.commandLine().getOut().printf("Removed network policy from %s to %s (%s %s)%n", source, destination, protocol, port);
            return 0;
        }
    }

    @Command(name = "network-policies", description = "List network policies, all or those of one app.")
    static final class ListPolicies implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "--app", description = "Only policies whose source is this app.") String app;

        @Override
        public Integer call() {
            JsonNode r = target.client().get(app == null ? "/policies" : "/policies?source_id=" + app);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-36s %-36s %-8s %s%n", "source", "destination", "protocol", "ports");
            for (JsonNode p : r.path("policies")) {
                JsonNode d = p.get("destination");
                out.printf("%-36s %-36s %-8s %s%n", p.at("/source/id").asText(), d.path("id").asText(),
                        d.path("protocol").asText(), portsText(d.path("ports")));
            }
            return 0;
        }
    }

    static ObjectNode egress(String source, String destination, String protocol, String port, Integer icmpType, Integer icmpCode) {
        ObjectNode p = PolicyClient.JSON.createObjectNode();
        p.putObject("source").put("id", source);
        ObjectNode d = p.putObject("destination");
        if (destination.contains("-")) {
            String[] r = destination.split("-", 2);
            d.putObject("ips").put("start", r[0].trim()).put("end", r[1].trim());
        } else {
            d.put("cidr", destination.contains("/") ? destination : destination + "/32");
        }
        d.put("protocol", protocol);
        if (port != null) {
            int[] range = ports(port);
            d.putObject("ports").put("start", range[0]).put("end", range[1]);
        }
        if (icmpType != null) {
            d.put("icmp_type", icmpType);
        }
        if (icmpCode != null) {
            d.put("icmp_code", icmpCode);
        }
        return p;
    }

    /** What names one egress policy, for adding and removing alike. */
    static final class EgressOptions {
        @Parameters(index = "0", paramLabel = "SOURCE") String source;
        @Option(names = "--destination", required = true, description = "A CIDR (203.0.113.0/24), an address, or a range (a.b.c.d-e.f.g.h).") String destination;
        @Option(names = "--protocol", defaultValue = "tcp", description = "tcp, udp, icmp or all (default ${DEFAULT-VALUE}).") String protocol;
        @Option(names = "--port", description = "tcp/udp: a port or a range (default: all).") String port;
        @Option(names = "--icmp-type") Integer icmpType;
        @Option(names = "--icmp-code") Integer icmpCode;

        ObjectNode body() {
            return wrap("egress_policies", List.of(egress(source, destination, protocol, port, icmpType, icmpCode)));
        }
    }

    @Command(name = "add-egress-policy", description = "Allow SOURCE app to reach addresses outside the overlay.")
    static final class AddEgress implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Mixin EgressOptions egress;
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            target.client().post("/egress_policies", egress.body());
            spec.commandLine().getOut().printf("Added egress policy from %s to %s (%s)%n", egress.source, egress.destination, egress.protocol);
            return 0;
        }
    }

    @Command(name = "remove-egress-policy", description = "Remove an egress policy (same options as add-egress-policy).")
    static final class RemoveEgress implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Mixin EgressOptions egress;
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            target.client().post("/egress_policies/delete", egress.body());
            spec.commandLine().getOut().printf("Removed egress policy from %s to %s (%s)%n", egress.source, egress.destination, egress.protocol);
            return 0;
        }
    }

    @Command(name = "egress-policies", description = "List egress policies, all or those of one app.")
    static final class ListEgress implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "--app") String app;

        @Override
        public Integer call() {
            JsonNode r = target.client().get(app == null ? "/egress_policies" : "/egress_policies?id=" + app);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-36s %-33s %-8s %s%n", "source", "destination", "protocol", "ports/icmp");
            for (JsonNode p : r.path("egress_policies")) {
                JsonNode d = p.get("destination");
                String extra = d.has("ports") ? portsText(d.get("ports"))
                        : d.has("icmp_type") ? "type " + d.get("icmp_type").asInt() + (d.has("icmp_code") ? " code " + d.get("icmp_code").asInt() : "") : "";
                out.printf("%-36s %-33s %-8s %s%n", p.at("/source/id").asText(),
                        d.at("/ips/start").asText() + "-" + d.at("/ips/end").asText(), d.path("protocol").asText(), extra);
            }
            return 0;
        }
    }

    /** An egress policy as one comparable line: its source, protocol, address range, ports or ICMP type/code. */
    static String describeEgress(JsonNode p) {
        JsonNode d = p.path("destination");
        String range;
        if (d.has("cidr")) {
            String[] c = d.get("cidr").asText().split("/");
            long base = ipv4(c[0]);
            int prefix = c.length > 1 ? Integer.parseInt(c[1]) : 32;
            long size = 1L << (32 - prefix);
            long start = base & ~(size - 1) & 0xffff_ffffL;
            range = dotted(start) + "-" + dotted(start + size - 1);
        } else {
            range = dotted(ipv4(d.at("/ips/start").asText())) + "-" + dotted(ipv4(d.at("/ips/end").asText()));
        }
        String extra = d.has("ports") ? " " + portsText(d.get("ports"))
                : d.has("icmp_type") ? " type " + d.get("icmp_type").asInt() + " code " + d.path("icmp_code").asInt(-1) : "";
        return p.at("/source/id").asText() + " -> " + range + " " + d.path("protocol").asText() + extra;
    }

    private static long ipv4(String dotted) {
        String[] b = dotted.trim().split("\\.");
        if (b.length != 4) {
            throw new IllegalArgumentException("\"" + dotted + "\" is not an IPv4 address");
        }
        long a = 0;
        for (String part : b) {
            a = a << 8 | Integer.parseInt(part);
        }
        return a;
    }

    private static String dotted(long a) {
        return (a >> 24 & 255) + "." + (a >> 16 & 255) + "." + (a >> 8 & 255) + "." + (a & 255);
    }

    /** The changes that make what exists for some keys equal to what is wanted. */
    record Difference(List<JsonNode> create, List<JsonNode> delete) {
        static Difference of(Map<String, JsonNode> wanted, Map<String, JsonNode> existing) {
            List<JsonNode> create = new ArrayList<>();
            List<JsonNode> delete = new ArrayList<>();
            wanted.forEach((k, p) -> {
                if (!existing.containsKey(k)) {
                    create.add(p);
                }
            });
            existing.forEach((k, p) -> {
                if (!wanted.containsKey(k)) {
                    delete.add(p);
                }
            });
            return new Difference(create, delete);
        }

        boolean isEmpty() {
            return create.isEmpty() && delete.isEmpty();
        }
    }

    /**
     * Network configuration as code. The file may hold any of {@code policies} (app → app),
     * {@code egress_policies} and {@code security_groups}, in the API's shapes. For every source app
     * in the file its policies (and its egress policies) become exactly those in the file; every
     * security group in the file gets its rules, global flags and space bindings as written (created
     * when missing). Apps and groups not in the file are untouched.
     */
    @Command(name = "apply", description = "Make the policies, egress policies and security groups in FILE match it"
            + " (--dry-run: print the difference).")
    static final class Apply implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Option(names = {"-f", "--file"}, required = true,
                description = "JSON: {\"policies\": [...], \"egress_policies\": [...], \"security_groups\": [...]}.") File file;
        @Option(names = "--dry-run") boolean dryRun;

        @Override
        public Integer call() throws Exception {
            JsonNode doc;
            try {
                doc = PolicyClient.JSON.readTree(file);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage());
            }
            if (doc == null || !doc.isObject() || !(doc.path("policies").isArray() || doc.path("egress_policies").isArray()
                    || doc.path("security_groups").isArray())) {
                throw new IllegalArgumentException(file + ": expected {\"policies\": [...]}, {\"egress_policies\": [...]}"
                        + " and/or {\"security_groups\": [...]}");
            }
            var client = target.client();
            PrintWriter out = spec.commandLine().getOut();
            int changes = 0;
            if (doc.path("policies").isArray()) {
                changes += section(client, out, doc.get("policies"), "/policies", "policies", "source_id", PolicyCommands::describe);
            }
            if (doc.path("egress_policies").isArray()) {
                changes += section(client, out, doc.get("egress_policies"), "/egress_policies", "egress_policies", "id",
                        PolicyCommands::describeEgress);
            }
            if (doc.path("security_groups").isArray()) {
                changes += SecurityGroupCommands.apply(client, out, doc.get("security_groups"), dryRun);
            }
            if (changes == 0) {
                out.println("everything already matches " + file);
            } else if (!dryRun) {
                out.printf("applied: %d changes%n", changes);
            }
            return 0;
        }

        /** One kind of policy, by source app: returns how many creates and deletes it takes. */
        private int section(PolicyClient client, PrintWriter out, JsonNode items, String path, String field, String filter,
                java.util.function.Function<JsonNode, String> describe) {
            Map<String, JsonNode> wanted = new LinkedHashMap<>();
            Set<String> sources = new LinkedHashSet<>();
            for (JsonNode p : items) {
                wanted.put(describe.apply(p), p);
                sources.add(p.at("/source/id").asText());
            }
            Map<String, JsonNode> existing = new LinkedHashMap<>();
            if (!sources.isEmpty()) {
                for (JsonNode p : client.get(path + "?" + filter + "=" + String.join(",", sources)).path(field)) {
                    existing.put(describe.apply(p), p);
                }
            }
            Difference d = Difference.of(wanted, existing);
            d.create().forEach(p -> out.println("+ " + describe.apply(p)));
            d.delete().forEach(p -> out.println("- " + describe.apply(p)));
            if (!dryRun && !d.create().isEmpty()) {
                client.post(path, wrap(field, d.create()));
            }
            if (!dryRun && !d.delete().isEmpty()) {
                client.post(path + "/delete", wrap(field, d.delete()));
            }
            return d.create().size() + d.delete().size();
        }
    }
}
