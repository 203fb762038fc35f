package io.silk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The cf-style security-group commands, against the policy server's security-group API. Groups
 * are named as in cf; spaces by their guid (there is no Cloud Controller to resolve names here).
 */
final class SecurityGroupCommands {

    static final String PATH = "/security_groups";

    private SecurityGroupCommands() {}

    /** The group of that name; a clear refusal when there is none. */
    static JsonNode byName(PolicyClient client, String name) {
        JsonNode found = client.get(PATH + "?names=" + URLEncoder.encode(name, StandardCharsets.UTF_8)).path("resources");
        if (found.isEmpty()) {
            throw new PolicyClient.ApiFailure("security group " + name + " not found", false);
        }
        return found.get(0);
    }

    /** Every group, following the pages. */
    static List<JsonNode> all(PolicyClient client, String query) {
        List<JsonNode> groups = new ArrayList<>();
        for (int page = 1; ; page++) {
            JsonNode r = client.get(PATH + "?per_page=500&page=" + page + (query.isEmpty() ? "" : "&" + query));
            r.path("resources").forEach(groups::add);
            if (r.at("/pagination/next").isNull() || r.at("/pagination/next").isMissingNode()) {
                return groups;
            }
        }
    }

    /** A rules file: cf's JSON array of rules (or {"rules": [...]}). */
    static JsonNode rules(File file) {
        JsonNode doc;
        try {
            doc = PolicyClient.JSON.readTree(file);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getMessage());
        }
        JsonNode rules = doc != null && doc.isObject() ? doc.path("rules") : doc;
        if (rules == null || !rules.isArray()) {
            throw new IllegalArgumentException(file + ": expected a JSON array of rules, as cf's create-security-group takes");
        }
        return rules;
    }

    static String lifecycle(String l) {
        if (!l.equals("running") && !l.equals("staging")) {
            throw new IllegalArgumentException("--lifecycle must be running or staging, not \"" + l + "\"");
        }
        return l;
    }

    @Command(name = "create-security-group", description = "Create a security group from a JSON file of cf's rules.")
    static final class Create implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "RULES.json") File file;

        @Override
        public Integer call() {
            ObjectNode body = PolicyClient.JSON.createObjectNode().put("name", name);
            body.set("rules", rules(file));
            target.client().post(PATH, body);
            spec.commandLine().getOut().printf("Created security group %s%n", name);
            return 0;
        }
    }

    @Command(name = "update-security-group", description = "Replace the rules of a security group with those of a JSON file.")
    static final class Update implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "RULES.json") File file;

        @Override
        public Integer call() {
            var client = target.client();
            ObjectNode body = PolicyClient.JSON.createObjectNode();
            body.set("rules", rules(file));
            client.patch(PATH + "/" + byName(client, name).get("guid").asText(), body);
            spec.commandLine().getOut().printf("Updated security group %s%n", name);
            return 0;
        }
    }

    @Command(name = "delete-security-group", description = "Delete a security group and its bindings.")
    static final class Delete implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            var client = target.client();
            client.delete(PATH + "/" + byName(client, name).get("guid").asText());
            spec.commandLine().getOut().printf("Deleted security group %s%n", name);
            return 0;
        }
    }

    @Command(name = "security-groups", description = "List security groups: where each applies.")
    static final class ListGroups implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-32s %-9s %-40s%n", "name", "lifecycle", "applies to");
            for (JsonNode g : all(target.client(), "")) {
                for (String l : List.of("running", "staging")) {
                    List<String> where = new ArrayList<>();
                    if (g.at("/globally_enabled/" + l).asBoolean()) {
                        where.add("<all>");
                    }
                    g.at("/relationships/" + l + "_spaces/data").forEach(d -> where.add("space " + d.path("guid").asText()));
                    if (!where.isEmpty()) {
                        out.printf("%-32s %-9s %s%n", g.get("name").asText(), l, String.join(", ", where));
                    }
                }
                if (!g.at("/globally_enabled/running").asBoolean() && !g.at("/globally_enabled/staging").asBoolean()
                        && g.at("/relationships/running_spaces/data").isEmpty() && g.at("/relationships/staging_spaces/data").isEmpty()) {
                    out.printf("%-32s %-9s %s%n", g.get("name").asText(), "", "(not bound)");
                }
            }
            return 0;
        }
    }

    @Command(name = "security-group", description = "Show a security group's rules and bindings.")
    static final class Show implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() throws Exception {
            JsonNode g = byName(target.client(), name);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("name:     %s%nguid:     %s%nrunning:  %s%nstaging:  %s%nrules:%n", g.get("name").asText(), g.get("guid").asText(),
                    applies(g, "running"), applies(g, "staging"));
            out.println(PolicyClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(g.get("rules")));
            return 0;
        }

        private static String applies(JsonNode g, String l) {
            List<String> where = new ArrayList<>();
            if (g.at("/globally_enabled/" + l).asBoolean()) {
                where.add("all spaces");
            }
            g.at("/relationships/" + l + "_spaces/data").forEach(d -> where.add(d.path("guid").asText()));
            return where.isEmpty() ? "-" : String.join(", ", where);
        }
    }

    @Command(name = "bind-security-group", description = "Bind a security group to a space, for running (default) or staging.")
    static final class Bind implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--space", required = true, paramLabel = "SPACE_GUID") String space;
        @Option(names = "--lifecycle", defaultValue = "running", description = "running or staging (default ${DEFAULT-VALUE}).") String lifecycle;

        @Override
        public Integer call() {
            var client = target.client();
            ObjectNode body = PolicyClient.JSON.createObjectNode();
            body.putArray("data").addObject().put("guid", space);
            client.post(PATH + "/" + byName(client, name).get("guid").asText() + "/relationships/" + lifecycle(lifecycle) + "_spaces", body);
            spec.commandLine().getOut().printf("Bound security group %s to space %s for %s%n", name, space, lifecycle);
            return 0;
        }
    }

    @Command(name = "unbind-security-group", description = "Unbind a security group from a space.")
    static final class Unbind implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--space", required = true, paramLabel = "SPACE_GUID") String space;
        @Option(names = "--lifecycle", defaultValue = "running", description = "running or staging (default ${DEFAULT-VALUE}).") String lifecycle;

        @Override
        public Integer call() {
            var client = target.client();
            client.delete(PATH + "/" + byName(client, name).get("guid").asText() + "/relationships/" + lifecycle(lifecycle)
                    + "_spaces/" + URLEncoder.encode(space, StandardCharsets.UTF_8));
            spec.commandLine().getOut().printf("Unbound security group %s from space %s for %s%n", name, space, lifecycle);
            return 0;
        }
    }

    /** Turns a group's global flag for one lifecycle on or off. */
    abstract static class Global implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;

        abstract String lifecycle();

        abstract boolean enable();

        @Override
        public Integer call() {
            var client = target.client();
            ObjectNode body = PolicyClient.JSON.createObjectNode();
            body.putObject("globally_enabled").put(lifecycle(), enable());
            client.patch(PATH + "/" + byName(client, name).get("guid").asText(), body);
            spec.commandLine().getOut().printf("%s security group %s %s every %s container%n", enable() ? "Bound" : "Unbound", name,
                    enable() ? "to" : "from", lifecycle());
            return 0;
        }
    }

    @Command(name = "bind-running-security-group", description = "Apply a security group to every running container.")
    static final class BindRunning extends Global {
        String lifecycle() { return "running"; }
        boolean enable() { return true; }
    }

    @Command(name = "bind-staging-security-group", description = "Apply a security group to every staging container.")
    static final class BindStaging extends Global {
        String lifecycle() { return "staging"; }
        boolean enable() { return true; }
    }

    @Command(name = "unbind-running-security-group", description = "Stop applying a security group to every running container.")
    static final class UnbindRunning extends Global {
        String lifecycle() { return "running"; }
        boolean enable() { return false; }
    }

    @Command(name = "unbind-staging-security-group", description = "Stop applying a security group to every staging container.")
    static final class UnbindStaging extends Global {
        String lifecycle() { return "staging"; }
        boolean enable() { return false; }
    }

    /** The globally enabled groups of one lifecycle. */
    abstract static class ListGlobal implements Callable<Integer> {
        @Mixin PolicyClient.Target target;
        @Spec CommandLine.Model.CommandSpec spec;

        abstract String lifecycle();

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            out.println("name");
            all(target.client(), "globally_enabled_" + lifecycle() + "=true").forEach(g -> out.println(g.get("name").asText()));
            return 0;
        }
    }

    @Command(name = "running-security-groups", description = "List the security groups every running container gets.")
    static final class ListRunning extends ListGlobal {
        String lifecycle() { return "running"; }
    }

    @Command(name = "staging-security-groups", description = "List the security groups every staging container gets.")
    static final class ListStaging extends ListGlobal {
        String lifecycle() { return "staging"; }
    }

    /**
     * {@code apply -f}'s security groups: each group of the file gets its rules, global flags and
     * space bindings as written. Returns how many changes it takes (made unless {@code dryRun}).
     */
    static int apply(PolicyClient client, PrintWriter out, JsonNode groups, boolean dryRun) {
        int changes = 0;
        for (JsonNode want : groups) {
            String name = want.path("name").asText();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("security_groups: every group needs a name");
            }
            JsonNode found = client.get(PATH + "?names=" + URLEncoder.encode(name, StandardCharsets.UTF_8)).path("resources");
            if (found.isEmpty()) {
                out.println("+ security group " + name);
                if (!dryRun) {
                    client.post(PATH, want);
                }
                changes++;
                continue;
            }
            JsonNode have = found.get(0);
            String guid = have.get("guid").asText();
            ObjectNode patch = PolicyClient.JSON.createObjectNode();
            JsonNode rules = want.path("rules").isArray() ? want.get("rules") : PolicyClient.JSON.createArrayNode();
            if (!rules.equals(have.get("rules"))) {
                patch.set("rules", rules);
            }
            for (String l : List.of("running", "staging")) {
                boolean on = want.at("/globally_enabled/" + l).asBoolean(false);
                if (on != have.at("/globally_enabled/" + l).asBoolean()) {
                    patch.with("globally_enabled").put(l, on);
                }
            }
            if (!patch.isEmpty()) {
                out.println("~ security group " + name + " " + String.join(",", iterable(patch.fieldNames())));
                if (!dryRun) {
                    client.patch(PATH + "/" + guid, patch);
                }
                changes++;
            }
            for (String l : List.of("running", "staging")) {
                java.util.Set<String> wanted = new java.util.TreeSet<>();
                want.at("/relationships/" + l + "_spaces/data").forEach(d -> wanted.add(d.path("guid").asText()));
                java.util.Set<String> bound = new java.util.TreeSet<>();
                have.at("/relationships/" + l + "_spaces/data").forEach(d -> bound.add(d.path("guid").asText()));
                for (String space : wanted) {
                    if (!bound.contains(space)) {
                        out.println("+ security group " + name + " bound to space " + space + " for " + l);
                        if (!dryRun) {
                            ObjectNode body = PolicyClient.JSON.createObjectNode();
                            body.putArray("data").addObject().put("guid", space);
                            client.post(PATH + "/" + guid + "/relationships/" + l + "_spaces", body);
                        }
                        changes++;
                    }
                }
                for (String space : bound) {
                    if (!wanted.contains(space)) {
                        out.println("- security group " + name + " bound to space " + space + " for " + l);
                        if (!dryRun) {
                            client.delete(PATH + "/" + guid + "/relationships/" + l + "_spaces/"
                                    + URLEncoder.encode(space, StandardCharsets.UTF_8));
                        }
                        changes++;
                    }
                }
            }
        }
        return changes;
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }
}
