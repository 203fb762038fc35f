package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.cli.SilkCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The cf-style policy commands of the silk CLI against a real policy server. */
class SilkPolicyCliTest {

    static PolicyServerHarness server;
    static String admin;

    record Run(int exit, String out, String err) {}

    @BeforeAll
    static void start() throws Exception {
        server = new PolicyServerHarness();
        admin = server.token("admin", "network.admin");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Run silk(String token, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--api", "http://127.0.0.1:" + server.port));
        if (token != null) {
            all.addAll(List.of("--token", token));
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = SilkCommand.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void addListAndRemoveNetworkPolicies() {
        Run add = silk(admin, "add-network-policy", "cli-a", "--destination-app", "cli-b", "--port", "8080-8090");
        assertThat(add.exit()).as(add.err()).isZero();
        assertThat(silk(admin, "add-network-policy", "cli-a", "--destination-app", "cli-c", "--protocol", "udp", "--port", "53").exit()).isZero();
        Run list = silk(admin, "network-policies", "--app", "cli-a");
        assertThat(list.out()).containsPattern("cli-a\\s+cli-b\\s+tcp\\s+8080-8090").containsPattern("cli-a\\s+cli-c\\s+udp\\s+53");

        Run missing = silk(admin, "remove-network-policy", "cli-a", "--destination-app", "cli-b", "--protocol", "tcp", "--port", "8080");
        assertThat(missing.exit()).isEqualTo(SilkCommand.REFUSED);
        assertThat(missing.err()).contains("policy does not exist");
        assertThat(silk(admin, "remove-network-policy", "cli-a", "--destination-app", "cli-b", "--protocol", "tcp",
                "--port", "8080-8090").exit()).isZero();
        assertThat(silk(admin, "network-policies", "--app", "cli-a").out()).doesNotContain("cli-b").contains("cli-c");
    }

    @Test
    void applyMakesTheFileTheTruthForItsApps() throws Exception {
        silk(admin, "add-network-policy", "as-code", "--destination-app", "old-dest", "--port", "80");
        silk(admin, "add-network-policy", "bystander", "--destination-app", "old-dest", "--port", "80");
        Path file = Files.createTempFile("policies", ".json");
        Files.writeString(file, """
                {"policies": [
                  {"source": {"id": "as-code"}, "destination": {"id": "new-dest", "protocol": "tcp", "ports": {"start": 443, "end": 443}}}
                ]}""");
        Run dry = silk(admin, "apply", "-f", file.toString(), "--dry-run");
        assertThat(dry.exit()).isZero();
        assertThat(dry.out()).contains("+ as-code -> new-dest tcp 443", "- as-code -> old-dest tcp 80");
        assertThat(silk(admin, "network-policies", "--app", "as-code").out()).contains("old-dest");

        Run applied = silk(admin, "apply", "-f", file.toString());
        assertThat(applied.out()).contains("applied: 2 changes");
        String now = silk(admin, "network-policies").out();
        assertThat(now).containsPattern("as-code\\s+new-dest").doesNotContainPattern("as-code\\s+old-dest")
                .containsPattern("bystander\\s+old-dest");
        assertThat(silk(admin, "apply", "-f", file.toString()).out()).contains("everything already matches");
    }

    @Test
    void securityGroupCommandsInCfsStyle() throws Exception {
        Path rules = Files.createTempFile("rules", ".json");
        Files.writeString(rules, "[{\"protocol\":\"tcp\",\"destination\":\"10.0.11.0/24\",\"ports\":\"443\"}]");
        Run created = silk(admin, "create-security-group", "cli-web", rules.toString());
        assertThat(created.exit()).as(created.err()).isZero();
        assertThat(silk(admin, "bind-security-group", "cli-web", "--space", "space-cli").exit()).isZero();
        assertThat(silk(admin, "bind-security-group", "cli-web", "--space", "space-cli", "--lifecycle", "staging").exit()).isZero();
        assertThat(silk(admin, "bind-running-security-group", "cli-web").exit()).isZero();
        String list = silk(admin, "security-groups").out();
        assertThat(list).containsPattern("cli-web\\s+running\\s+<all>, space space-cli")
                .containsPattern("cli-web\\s+staging\\s+space space-cli");
        assertThat(silk(admin, "running-security-groups").out()).contains("cli-web");
        assertThat(silk(admin, "staging-security-groups").out()).doesNotContain("cli-web");
        Files.writeString(rules, "[{\"protocol\":\"udp\",\"destination\":\"10.0.0.2\",\"ports\":\"53\"}]");
        assertThat(silk(admin, "update-security-group", "cli-web", rules.toString()).exit()).isZero();
        String shown = silk(admin, "security-group", "cli-web").out();
        assertThat(shown).contains("\"udp\"", "10.0.0.2").doesNotContain("10.0.11.0/24").containsPattern("running:\\s+all spaces, space-cli");
        assertThat(silk(admin, "unbind-security-group", "cli-web", "--space", "space-cli").exit()).isZero();
        assertThat(silk(admin, "unbind-running-security-group", "cli-web").exit()).isZero();
        assertThat(silk(admin, "security-group", "cli-web").out()).containsPattern("running:\\s+-");
        Run badRules = silk(admin, "create-security-group", "cli-bad", rules.getParent().resolve("missing.json").toString());
        assertThat(badRules.exit()).isNotZero();
        Files.writeString(rules, "[{\"protocol\":\"tcp\",\"destination\":\"10.0.0.0/8\"}]");
        Run refused = silk(admin, "create-security-group", "cli-bad", rules.toString());
        assertThat(refused.exit()).isNotZero();
        assertThat(refused.err()).contains("ports are required", "422");
        assertThat(silk(admin, "delete-security-group", "cli-web").exit()).isZero();
        Run gone = silk(admin, "delete-security-group", "cli-web");
        assertThat(gone.exit()).isNotZero();
        assertThat(gone.err()).contains("security group cli-web not found");
    }

    @Test
    void applyCoversEgressPoliciesAndSecurityGroups() throws Exception {
        silk(admin, "add-egress-policy", "apply-eg", "--destination", "203.0.113.9", "--port", "80");
        Path file = Files.createTempFile("network", ".json");
        Files.writeString(file, """
                {"egress_policies": [
                   {"source": {"id": "apply-eg"}, "destination": {"cidr": "198.51.100.0/24", "protocol": "tcp", "ports": {"start": 443, "end": 443}}}],
                 "security_groups": [
                   {"name": "apply-sg", "rules": [{"protocol": "all", "destination": "10.9.0.0/16"}],
                    "globally_enabled": {"staging": true},
                    "relationships": {"running_spaces": {"data": [{"guid": "space-apply"}]}}}]}""");
        Run dry = silk(admin, "apply", "-f", file.toString(), "--dry-run");
        assertThat(dry.out()).as(dry.err()).contains("+ apply-eg -> 198.51.100.0-198.51.100.255 tcp 443",
                "- apply-eg -> 203.0.113.9-203.0.113.9 tcp 80", "+ security group apply-sg");
        assertThat(silk(admin, "security-groups").out()).doesNotContain("apply-sg");
        Run applied = silk(admin, "apply", "-f", file.toString());
        assertThat(applied.exit()).as(applied.err()).isZero();
        assertThat(silk(admin, "egress-policies", "--app", "apply-eg").out()).contains("198.51.100.0-198.51.100.255")
                .doesNotContain("203.0.113.9");
        assertThat(silk(admin, "security-groups").out()).containsPattern("apply-sg\\s+running\\s+space space-apply")
                .containsPattern("apply-sg\\s+staging\\s+<all>");
        assertThat(silk(admin, "apply", "-f", file.toString()).out()).contains("everything already matches");

        // The file changes: the group's binding moves and its global flag goes.
        Files.writeString(file, Files.readString(file).replace("space-apply", "space-apply-2").replace("\"staging\": true", "\"staging\": false"));
        Run moved = silk(admin, "apply", "-f", file.toString());
        assertThat(moved.out()).contains("~ security group apply-sg globally_enabled",
                "+ security group apply-sg bound to space space-apply-2 for running",
                "- security group apply-sg bound to space space-apply for running", "applied: 3 changes");
        assertThat(silk(admin, "security-groups").out()).containsPattern("apply-sg\\s+running\\s+space space-apply-2")
                .doesNotContain("<all>");
    }

    @Test
    void egressCommands() {
        assertThat(silk(admin, "add-egress-policy", "eg-cli", "--destination", "203.0.113.0/24", "--port", "443").exit()).isZero();
        assertThat(silk(admin, "add-egress-policy", "eg-cli", "--destination", "198.51.100.1-198.51.100.9",
                "--protocol", "icmp", "--icmp-type", "8").exit()).isZero();
        String list = silk(admin, "egress-policies", "--app", "eg-cli").out();
        assertThat(list).containsPattern("eg-cli\\s+203.0.113.0-203.0.113.255\\s+tcp\\s+443")
                .containsPattern("eg-cli\\s+198.51.100.1-198.51.100.9\\s+icmp\\s+type 8");
        assertThat(silk(admin, "remove-egress-policy", "eg-cli", "--destination", "203.0.113.0/24", "--port", "443").exit()).isZero();
        assertThat(silk(admin, "egress-policies", "--app", "eg-cli").out()).doesNotContain("203.0.113.0");
    }

    @Test
    void failuresHaveExitCodesScriptsCanRelyOn() throws Exception {
        Run noToken = silk(null, "network-policies");
        assertThat(noToken.exit()).isEqualTo(SilkCommand.REFUSED);
        assertThat(noToken.err()).contains("missing authorization header", "HTTP 401");
        Run invalid = silk(admin, "add-network-policy", "x", "--destination-app", "y", "--protocol", "icmp");
        assertThat(invalid.exit()).isEqualTo(SilkCommand.REFUSED);
        assertThat(invalid.err()).contains("invalid destination protocol");
        Run badPort = silk(admin, "add-network-policy", "x", "--destination-app", "y", "--port", "http");
        assertThat(badPort.exit()).isEqualTo(2);
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        StringWriter err = new StringWriter();
        int down = SilkCommand.run(new String[] {"network-policies", "--api", "http://127.0.0.1:" + closed, "--token", admin},
                new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertThat(down).isEqualTo(SilkCommand.UNAVAILABLE);
        assertThat(err.toString()).contains("cannot reach the policy server");

        Path config = Files.createTempFile("silk-config", ".json");
        Files.writeString(config, "{\"api\": \"http://127.0.0.1:" + server.port + "\", \"token\": \"" + admin + "\"}");
        StringWriter out = new StringWriter();
        int viaConfig = SilkCommand.run(new String[] {"network-policies", "--config", config.toString()},
                new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        assertThat(viaConfig).isZero();
        assertThat(out.toString()).contains("source");
    }
}
