package io.silk.daemon.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.ipam.ContainerMetadata;
import io.silk.daemon.lease.HeldLease;
import io.silk.daemon.state.CellState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CNI commands, run inside the daemon: the plugin binary only forwards its environment and
 * stdin here, so the work happens in a warm process that is also the cell's single address
 * allocator. Results follow the version the network configuration asks for.
 */
public final class CniHandler {

    private static final Logger log = LoggerFactory.getLogger(CniHandler.class);
    public static final List<String> SUPPORTED_VERSIONS = List.of("0.4.0", "1.0.0", "1.1.0");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the daemon knows about its lease: null while it holds none. */
    public record LeaseState(HeldLease lease, int mtu) {}

    public record Response(int exitCode, String stdout) {}

    private final AddressBook addresses;
    private final ContainerLink links;
    private final Supplier<LeaseState> leaseState;
    private final MeterRegistry metrics;
    private final CellState cell;

    /** Reads the lease from the cell state and publishes the containers to it (the policy rules follow them). */
    public CniHandler(AddressBook addresses, ContainerLink links, CellState cell, MeterRegistry metrics) {
        this(addresses, links, () -> {
            CellState.Snapshot s = cell.current();
            return s.lease() == null ? null : new LeaseState(s.lease(), s.mtu());
        }, cell, metrics);
    }

    public CniHandler(AddressBook addresses, ContainerLink links, Supplier<LeaseState> leaseState, MeterRegistry metrics) {
        this(addresses, links, leaseState, new CellState(), metrics);
    }

    private CniHandler(AddressBook addresses, ContainerLink links, Supplier<LeaseState> leaseState, CellState cell,
            MeterRegistry metrics) {
        this.addresses = addresses;
        this.links = links;
        this.leaseState = leaseState;
        this.cell = cell;
        this.metrics = metrics;
    }

    public Response handle(Map<String, String> env, byte[] stdin) {
        String command = env.getOrDefault("CNI_COMMAND", "");
        String version = "1.1.0";
        long start = System.nanoTime();
        String outcome = "ok";
        try {
            if (command.equals("VERSION")) {
                return ok(versionInfo(stdin));
            }
            JsonNode config = parse(stdin);
            version = config.path("cniVersion").asText("");
            if (!SUPPORTED_VERSIONS.contains(version)) {
                throw new CniError(CniError.INCOMPATIBLE_VERSION, "cniVersion \"" + version + "\" is not supported",
                        "supported: " + SUPPORTED_VERSIONS);
            }
            return switch (command) {
                case "ADD" -> ok(changed(add(env, config, version)));
                case "DEL" -> ok(changed(del(env)));
                case "CHECK" -> ok(check(env, config));
                case "STATUS" -> ok(status());
                case "GC" -> ok(changed(gc(config)));
                case "" -> throw new CniError(CniError.INVALID_ENVIRONMENT, "CNI_COMMAND is not set", "");
                default -> throw new CniError(CniError.INVALID_ENVIRONMENT, "CNI_COMMAND \"" + command + "\" is not a CNI command",
                        "one of ADD, DEL, CHECK, STATUS, GC, VERSION");
            };
        } catch (CniError e) {
            outcome = "error_" + e.code();
            return error(version, e.code(), e.getMessage(), e.details());
        } catch (RuntimeException e) {
            outcome = "error_" + CniError.IO_FAILURE;
            log.atWarn().addKeyValue("command", command).addKeyValue("error", e.toString()).log("cni command failed");
            return error(version, CniError.IO_FAILURE, command + " failed: " + e.getMessage(), "");
        } finally {
            metrics.timer("silk.daemon.cni.requests", "command", command, "outcome", outcome)
                    .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    private String changed(String output) {
        cell.containers(addresses.all());
        return output;
    }

    private static JsonNode parse(byte[] stdin) {
        try {
            JsonNode n = JSON.readTree(stdin);
            if (n == null || !n.isObject()) {
                throw new CniError(CniError.DECODING_FAILURE, "network configuration on stdin is not a JSON object", "");
            }
            return n;
        } catch (IOException e) {
            throw new CniError(CniError.DECODING_FAILURE, "network configuration on stdin is not valid JSON", e.getMessage());
        }
    }

    private static String required(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isEmpty()) {
            throw new CniError(CniError.INVALID_ENVIRONMENT, name + " is not set", "the runtime must set " + name);
        }
        return v;
    }

    private String versionInfo(byte[] stdin) {
        ObjectNode out = JSON.createObjectNode();
        String asked = "1.1.0";
        try {
            JsonNode n = stdin.length == 0 ? null : JSON.readTree(stdin);
            if (n != null && n.hasNonNull("cniVersion")) {
                asked = n.get("cniVersion").asText();
            }
        } catch (IOException ignored) {
            // VERSION works without a configuration.
        }
        out.put("cniVersion", asked);
        ArrayNode supported = out.putArray("supportedVersions");
        SUPPORTED_VERSIONS.forEach(supported::add);
        return out.toString();
    }

    private LeaseState requireLease(String what) {
        LeaseState s = leaseState.get();
        if (s == null || s.lease() == null) {
            throw new CniError(CniError.TRY_AGAIN_LATER, what + ": the cell holds no overlay lease yet",
                    "the silk daemon is still acquiring its lease from the controller; retry shortly");
        }
        return s;
    }

    private String add(Map<String, String> env, JsonNode config, String version) {
        String containerId = required(env, "CNI_CONTAINERID");
        Path netns = Path.of(required(env, "CNI_NETNS"));
        String ifname = required(env, "CNI_IFNAME");
        if (ifname.length() > 15) {
            throw new CniError(CniError.INVALID_ENVIRONMENT, "CNI_IFNAME \"" + ifname + "\" is longer than 15 characters", "");
        }
        // A bad configuration is refused before anything that may be retried (no lease yet).
        JsonNode configuredMtu = config.get("mtu");
        if (configuredMtu != null && (!configuredMtu.isIntegralNumber() || !configuredMtu.canConvertToInt()
                || configuredMtu.asInt() < 576 || configuredMtu.asInt() > 65535)) {
            throw new CniError(CniError.INVALID_CONFIG, "mtu must be an integer between 576 and 65535", configuredMtu.toString());
        }
        ContainerMetadata metadata = metadata(env, config);
        LeaseState lease = requireLease("ADD " + containerId);
        int mtu = configuredMtu != null ? configuredMtu.asInt() : lease.mtu();
        if (!java.nio.file.Files.exists(netns)) {
            throw new CniError(CniError.INVALID_ENVIRONMENT, "CNI_NETNS " + netns + " does not exist", "");
        }
        String hostIf = ContainerLink.hostInterface(containerId, ifname);
        String app = metadata.appId();
        AddressBook.Attachment a;
        try {
            a = addresses.allocate(lease.lease().subnet(), containerId, ifname, hostIf, metadata);
        } catch (AddressBook.HostPortTaken taken) {
            throw new CniError(CniError.INVALID_CONFIG, "ADD " + containerId + ": " + taken.getMessage(), "");
        } catch (IllegalStateException full) {
            throw new CniError(CniError.TRY_AGAIN_LATER, "ADD " + containerId + ": " + full.getMessage(), "");
        }
        try {
            links.attach(netns, ifname, hostIf, a.ip(), mtu);
        } catch (RuntimeException e) {
            addresses.release(containerId, ifname);
            throw e;
        }
        log.atInfo().addKeyValue("container", containerId).addKeyValue("ifname", ifname).addKeyValue("ip", a.ip())
                .addKeyValue("app", app).addKeyValue("space", metadata.spaceId()).addKeyValue("workload", metadata.workload())
                .log("container attached");
        return result(version, hostIf, ifname, netns.toString(), a.ip(), metadata.dnsServers());
    }

    /**
     * Who the container is, as the runtime says: Cloud Foundry's {@code metadata} (at the top level of
     * the configuration, as Silk's wrapper reads it, or inside {@code runtimeConfig}, as Cloud
     * Foundry's guide shows it) and {@code runtimeConfig.portMappings} (Cloud Foundry's
     * {@code host_port}/{@code container_port}, or the CNI capability's
     * {@code hostPort}/{@code containerPort}/{@code protocol}). The app is {@code policy_group_id},
     * else {@code runtimeConfig.appId}, else CNI_ARGS {@code SILK_APP_ID}. A value of the wrong
     * kind is code 7.
     */
    static ContainerMetadata metadata(Map<String, String> env, JsonNode config) {
        JsonNode meta = config.path("metadata").isObject() ? config.path("metadata") : config.path("runtimeConfig").path("metadata");
        String app = text(meta, "policy_group_id");
        if (app.isEmpty()) {
            app = appId(env, config);
        }
        java.util.List<ContainerMetadata.PortMapping> ports = new java.util.ArrayList<>();
        JsonNode mappings = config.path("runtimeConfig").path("portMappings");
        if (!mappings.isMissingNode() && !mappings.isNull() && !mappings.isArray()) {
            throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.portMappings must be a list", shortened(mappings));
        }
        for (JsonNode m : mappings) {
            int host = port(m, "host_port", "hostPort");
            int container = port(m, "container_port", "containerPort");
            String protocol = m.path("protocol").asText("tcp").toLowerCase(java.util.Locale.ROOT);
            try {
                ports.add(new ContainerMetadata.PortMapping(host, container, protocol));
            } catch (IllegalArgumentException e) {
                throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.portMappings: " + e.getMessage(), shortened(m));
            }
        }
        List<ContainerMetadata.NetOutRule> netOut = new java.util.ArrayList<>();
        JsonNode rules = config.path("runtimeConfig").path("netOutRules");
        if (!rules.isMissingNode() && !rules.isNull() && !rules.isArray()) {
            throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.netOutRules must be a list", shortened(rules));
        }
        for (JsonNode r : rules) {
            netOut.add(netOutRule(r));
        }
        List<String> dns = new java.util.ArrayList<>();
        JsonNode servers = config.path("dns_servers");
        if (!servers.isMissingNode() && !servers.isNull() && !servers.isArray()) {
            throw new CniError(CniError.INVALID_CONFIG, "dns_servers must be a list of IPv4 addresses", shortened(servers));
        }
        for (JsonNode d : servers) {
            dns.add(address(d, "dns_servers").toString());
        }
        try {
            return new ContainerMetadata(app, text(meta, "space_id"), text(meta, "org_id"), text(meta, "container_workload"), ports,
                    netOut, dns);
        } catch (IllegalArgumentException e) {
            throw new CniError(CniError.INVALID_CONFIG, "metadata: " + e.getMessage(), "");
        }
    }

    /**
     * One of Cloud Foundry's {@code netOutRules}: protocol 0 all, 1 tcp, 2 udp, 3 icmp; {@code networks}
     * and {@code ports} as start/end objects (omitted: all); {@code icmps} type and optional code;
     * {@code log}.
     */
    private static ContainerMetadata.NetOutRule netOutRule(JsonNode r) {
        JsonNode p = r.path("protocol");
        if (!p.isIntegralNumber() || p.asInt() < 0 || p.asInt() > 3) {
            throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.netOutRules: protocol must be 0 (all), 1 (tcp), 2 (udp)"
                    + " or 3 (icmp)", shortened(r));
        }
        String protocol = List.of("all", "tcp", "udp", "icmp").get(p.asInt());
        List<ContainerMetadata.Range> networks = new java.util.ArrayList<>();
        for (JsonNode n : r.path("networks")) {
            long start = address(n.path("start"), "runtimeConfig.netOutRules networks").bits() & 0xffff_ffffL;
            long end = address(n.path("end"), "runtimeConfig.netOutRules networks").bits() & 0xffff_ffffL;
            networks.add(range(start, end, r));
        }
        List<ContainerMetadata.Range> ports = new java.util.ArrayList<>();
        for (JsonNode n : r.path("ports")) {
            if (!n.path("start").isIntegralNumber() || !n.path("end").isIntegralNumber()
                    || n.path("start").asInt() < 0 || n.path("end").asInt() > 65535) {
                throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.netOutRules: ports must be start/end numbers 0 to 65535",
                        shortened(r));
            }
            ports.add(range(n.path("start").asInt(), n.path("end").asInt(), r));
        }
        JsonNode icmps = r.path("icmps");
        int type = icmps.path("type").isIntegralNumber() ? icmps.path("type").asInt() : -1;
        int code = icmps.path("code").isIntegralNumber() ? icmps.path("code").asInt() : -1;
        if (type > 255 || code > 255) {
            throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.netOutRules: icmp type and code are 0 to 255", shortened(r));
        }
        return new ContainerMetadata.NetOutRule(protocol, networks, ports, type, code, r.path("log").asBoolean(false));
    }

    private static ContainerMetadata.Range range(long start, long end, JsonNode rule) {
        if (start > end) {
            throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.netOutRules: a range ends before it starts", shortened(rule));
        }
        return new ContainerMetadata.Range(start, end);
    }

    private static io.silk.values.Ipv4Address address(JsonNode v, String where) {
        try {
            return io.silk.values.Ipv4Address.parse(v.asText(), where);
        } catch (RuntimeException e) {
            throw new CniError(CniError.INVALID_CONFIG, where + ": " + io.silk.values.Quote.shortened(v.toString())
                    + " is not an IPv4 address", "");
        }
    }

    private static String text(JsonNode meta, String field) {
        JsonNode v = meta.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return "";
        }
        if (!v.isTextual()) {
            throw new CniError(CniError.INVALID_CONFIG, "metadata." + field + " must be a string", shortened(v));
        }
        return v.asText();
    }

    private static int port(JsonNode mapping, String cfName, String cniName) {
        JsonNode v = mapping.has(cfName) ? mapping.get(cfName) : mapping.get(cniName);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new CniError(CniError.INVALID_CONFIG, "runtimeConfig.portMappings: " + cfName + " (or " + cniName
                    + ") must be an integer port", shortened(mapping));
        }
        return v.asInt();
    }

    private static String shortened(JsonNode v) {
        return io.silk.values.Quote.shortened(v.toString());
    }

    /** The app (policy group) by the earlier conventions: runtimeConfig.appId, else CNI_ARGS SILK_APP_ID. */
    static String appId(Map<String, String> env, JsonNode config) {
        String fromRuntime = config.path("runtimeConfig").path("appId").asText("");
        if (!fromRuntime.isEmpty()) {
            return fromRuntime;
        }
        for (String kv : env.getOrDefault("CNI_ARGS", "").split(";")) {
            if (kv.startsWith("SILK_APP_ID=")) {
                return kv.substring("SILK_APP_ID=".length());
            }
        }
        return "";
    }

    static String result(String version, String hostIf, String ifname, String sandbox, String ip) {
        return result(version, hostIf, ifname, sandbox, ip, List.of());
    }

    /** The CNI result; {@code dnsServers} (the configuration's {@code dns_servers}) as its dns nameservers. */
    static String result(String version, String hostIf, String ifname, String sandbox, String ip, List<String> dnsServers) {
        ObjectNode r = JSON.createObjectNode();
        r.put("cniVersion", version);
        ArrayNode ifs = r.putArray("interfaces");
        ifs.addObject().put("name", hostIf).put("mac", ContainerLink.hostMac(ip));
        ifs.addObject().put("name", ifname).put("mac", ContainerLink.containerMac(ip)).put("sandbox", sandbox);
        ObjectNode addr = r.putArray("ips").addObject();
        if (version.startsWith("0.")) {
            addr.put("version", "4");
        }
        addr.put("address", ip + "/32").put("gateway", ContainerLink.GATEWAY).put("interface", 1);
        r.putArray("routes").addObject().put("dst", "0.0.0.0/0").put("gw", ContainerLink.GATEWAY);
        ObjectNode dns = r.putObject("dns");
        if (!dnsServers.isEmpty()) {
            ArrayNode ns = dns.putArray("nameservers");
            dnsServers.forEach(ns::add);
        }
        return r.toString();
    }

    private String del(Map<String, String> env) {
        String containerId = required(env, "CNI_CONTAINERID");
        String ifname = required(env, "CNI_IFNAME");
        String netns = env.get("CNI_NETNS");
        String hostIf = ContainerLink.hostInterface(containerId, ifname);
        links.detach(netns == null || netns.isEmpty() ? null : Path.of(netns), ifname, hostIf);
        addresses.release(containerId, ifname)
                .ifPresent(a -> log.atInfo().addKeyValue("container", containerId).addKeyValue("ifname", ifname)
                        .addKeyValue("ip", a.ip()).log("container detached"));
        return "";
    }

    private String check(Map<String, String> env, JsonNode config) {
        String containerId = required(env, "CNI_CONTAINERID");
        Path netns = Path.of(required(env, "CNI_NETNS"));
        String ifname = required(env, "CNI_IFNAME");
        requireLease("CHECK " + containerId);
        AddressBook.Attachment a = addresses.find(containerId, ifname).orElseThrow(() -> new CniError(
                CniError.UNKNOWN_CONTAINER, "CHECK: container " + containerId + "/" + ifname + " is not attached", ""));
        JsonNode prev = config.path("prevResult").path("ips");
        if (prev.isArray() && !prev.isEmpty() && !prev.get(0).path("address").asText().equals(a.ip() + "/32")) {
            throw new CniError(CniError.INVALID_CONFIG, "CHECK: prevResult has " + prev.get(0).path("address").asText()
                    + " but the container has " + a.ip() + "/32", "");
        }
        List<String> problems = links.check(netns, ifname, a.hostInterface(), a.ip());
        if (!problems.isEmpty()) {
            throw new CniError(CniError.IO_FAILURE, "CHECK " + containerId + ": " + String.join("; ", problems), "");
        }
        return "";
    }

    private String status() {
        LeaseState s = leaseState.get();
        if (s == null || s.lease() == null) {
            throw new CniError(CniError.NOT_AVAILABLE, "plugin not available: the cell holds no overlay lease yet",
                    "the silk daemon is still acquiring its lease from the controller");
        }
        return "";
    }

    private String gc(JsonNode config) {
        JsonNode valid = config.path("cni.dev/valid-attachments");
        if (!valid.isArray()) {
            throw new CniError(CniError.INVALID_CONFIG, "GC needs cni.dev/valid-attachments (an array)", "");
        }
        Set<String> keep = new HashSet<>();
        for (JsonNode v : valid) {
            keep.add(v.path("containerID").asText() + "/" + v.path("ifname").asText());
        }
        int released = 0;
        for (AddressBook.Attachment a : addresses.all()) {
            if (!keep.contains(a.key())) {
                links.detach(null, a.ifname(), a.hostInterface());
                addresses.release(a.containerId(), a.ifname());
                released++;
            }
        }
        if (released > 0) {
            log.atInfo().addKeyValue("attachments", released).log("cni gc released attachments");
        }
        return "";
    }

    private static Response ok(String stdout) {
        return new Response(0, stdout);
    }

    static Response error(String version, int code, String message, String details) {
        ObjectNode e = JSON.createObjectNode();
        e.put("cniVersion", version.isEmpty() ? "1.1.0" : version);
        e.put("code", code);
        e.put("msg", message);
        if (details != null && !details.isEmpty()) {
            e.put("details", details);
        }
        return new Response(1, e.toString());
    }
}
