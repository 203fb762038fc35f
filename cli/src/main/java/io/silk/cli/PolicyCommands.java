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

    /**
     * Policies as code: for every source app in the file, make its policies exactly those in the
     * file — create what is missing, delete what is not there. Apps not in the file are untouched.
     */
    @Command(name = "apply", description = "Make the policies of the apps in FILE match it (--dry-run: print the difference).")
    static final class Apply implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Option(names = {"-f", "--file"}, required = true, description = "JSON: {\"policies\": [...]} in the API's shape.") File file;
        @Option(names = "--dry-run") boolean dryRun;

        @Override
        public Integer call() throws Exception {
            JsonNode wantedDoc;
            try {
                wantedDoc = PolicyClient.JSON.readTree(file);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage());
            }
            if (wantedDoc == null || !wantedDoc.path("policies").isArray()) {
                throw new IllegalArgumentException(file + ": expected {\"policies\": [...]}");
            }
            Map<String, JsonNode> wanted = new LinkedHashMap<>();
            Set<String> sources = new LinkedHashSet<>();
            for (JsonNode p : wantedDoc.get("policies")) {
                wanted.put(describe(p), p);
                sources.add(p.at("/source/id").asText());
            }
            var client = target.client();
            Map<String, JsonNode> existing = new LinkedHashMap<>();
            if (!sources.isEmpty()) {
                for (JsonNode p : client.get("/policies?source_id=" + String.join(",", sources)).path("policies")) {
                    existing.put(describe(p), p);
                }
            }
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
            PrintWriter out = spec.commandLine().getOut();
            create.forEach(p -> out.println("+ " + describe(p)));
            delete.forEach(p -> out.println("- " + describe(p)));
            if (create.isEmpty() && delete.isEmpty()) {
                out.println("policies already match " + file);
                return 0;
            }
            if (dryRun) {
                return 0;
            }
            if (!create.isEmpty()) {
                client.post("/policies", wrap("policies", create));
            }
            if (!delete.isEmpty()) {
                client.post("/policies/delete", wrap("policies", delete));
            }
            out.printf("applied: %d created, %d deleted%n", create.size(), delete.size());
            return 0;
        }
    }
}
