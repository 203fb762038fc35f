package io.silk.daemon.config;

import io.silk.values.Ipv4Address;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * The daemon's configuration, from a properties file (docs/configuration.md lists every key).
 *
 * @param underlayIp          this cell's underlay address: identifies the cell to the controller
 * @param controllers         controller replicas, host:port, tried in turn
 * @param plaintext           talk to the controller without TLS: only when configured so ({@code controller.plaintext=true})
 * @param ca                  CA bundle the controller's certificate chains to
 * @param certificate         this cell's client certificate (names the underlay IP)
 * @param privateKey          its PKCS#8 key
 * @param stateDir            where the lease and the container address book survive restarts
 * @param cniSocket           unix socket the CNI plugin talks to (created root-only)
 * @param healthAddress       loopback host:port of /health and /metrics
 * @param renewInterval       mean time between renews (±20 % jitter)
 * @param callTimeout         time limit of one controller call
 * @param partitionTolerance  how long without a successful renew before the daemon reports unhealthy
 * @param mtu                 overlay MTU; 0 derives it: underlay MTU − 50
 * @param vtepName            the VXLAN device
 * @param logDenied           log packets the policy rules reject (rate-limited)
 * @param enforcePolicy       enforce the controller's policies (false: all overlay traffic flows)
 * @param policyBackend       where policies are enforced: native nftables (default) or iptables
 * @param logAccepted         also log new connections a C2C policy lets in (cf's C2C logging)
 * @param nflogGroup          the NFLOG group verdicts are logged to and the daemon reads (nftables backend)
 * @param reconcileInterval   how often the whole policy table is written again to repair drift
 * @param countersInterval    how often the kernel's per-policy counters are read into metrics (0: never)
 * @param denyNetworks        destinations no container may reach, for all, running or staging containers
 * @param logEgressAccepted   log every new connection let out of the overlay (cf's global ASG logging)
 * @param securityGroups      dynamic (default): enforce the security groups the controller streams;
 *                            static: the {@code netOutRules} the runtime passes at ADD
 * @param ingressTag          the router's tag (cf's ingress_tag, 4 hex digits as the internal API
 *                            gives it): DNAT'ed-in traffic then needs a C2C policy from that group; 0: off
 */
public record DaemonConfig(
        Ipv4Address underlayIp,
        List<String> controllers,
        boolean plaintext,
        Path ca,
        Path certificate,
        Path privateKey,
        Path stateDir,
        Path cniSocket,
        String healthAddress,
        Duration renewInterval,
        Duration callTimeout,
        Duration partitionTolerance,
        int mtu,
        String vtepName,
        boolean logDenied,
        boolean enforcePolicy,
        PolicyBackendKind policyBackend,
        boolean logAccepted,
        int nflogGroup,
        Duration reconcileInterval,
        Duration countersInterval,
        io.silk.daemon.policy.nftables.Ruleset.DenyNetworks denyNetworks,
        boolean logEgressAccepted,
        io.silk.daemon.policy.nftables.NftablesBackend.SecurityGroupMode securityGroups,
        int ingressTag) {

    /** Where the policy is enforced. */
    public enum PolicyBackendKind { NFTABLES, IPTABLES }

    public static DaemonConfig load(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException("read daemon configuration " + file + ": " + e.getMessage(), e);
        }
        return from(p, file.toString());
    }

    public static DaemonConfig from(Properties p, String source) {
        Lookup get = new Lookup(p, source);
        Ipv4Address underlay = Ipv4Address.parse(get.required("underlay.ip"), source + ": underlay.ip");
        List<String> controllers = Arrays.stream(get.required("controller.addresses").split(",")).map(String::trim)
                .filter(s -> !s.isEmpty()).toList();
        boolean plaintext = get.bool("controller.plaintext", false);
        Path ca = get.path("tls.ca", null);
        Path certificate = get.path("tls.certificate", null);
        Path key = get.path("tls.private-key", null);
        if (plaintext && (ca != null || certificate != null || key != null)) {
            throw new IllegalArgumentException(source + ": controller.plaintext=true and tls.* are both set; choose one");
        }
        if (!plaintext && (ca == null || certificate == null || key == null)) {
            // Never fall back to plaintext silently: a missing line must not turn mTLS off.
            throw new IllegalArgumentException(source + ": tls.ca, tls.certificate and tls.private-key are required for mTLS"
                    + " to the controller (missing: " + String.join(", ", missing(ca, certificate, key))
                    + "); for a controller run with TLS off, set controller.plaintext=true");
        }
        return new DaemonConfig(
                underlay,
                controllers,
                plaintext,
                ca,
                certificate,
                key,
                get.path("state.dir", "/var/lib/silk"),
                get.path("cni.socket", "/run/silk/cni.sock"),
                get.optional("health.address", "127.0.0.1:9465"),
                get.duration("lease.renew-interval", "30s"),
                get.duration("controller.call-timeout", "5s"),
                get.duration("lease.partition-tolerance", "168h"),
                Integer.parseInt(get.optional("overlay.mtu", "0")),
                get.optional("vtep.name", "silk-vtep"),
                get.bool("policy.log-denied", false),
                get.bool("policy.enforce", true),
                switch (get.optional("policy.backend", "nftables")) {
                    case "nftables" -> PolicyBackendKind.NFTABLES;
                    case "iptables" -> PolicyBackendKind.IPTABLES;
                    default -> throw new IllegalArgumentException(source + ": policy.backend "
                            + io.silk.values.Quote.shortened(get.optional("policy.backend", "")) + " is not nftables or iptables");
                },
                get.bool("policy.log-accepted", false),
                get.integer("policy.nflog-group", 81, 1, 65535),
                get.duration("policy.reconcile-interval", "10m"),
                get.duration("policy.counters-interval", "30s"),
                new io.silk.daemon.policy.nftables.Ruleset.DenyNetworks(get.networks("policy.deny-networks.always"),
                        get.networks("policy.deny-networks.running"), get.networks("policy.deny-networks.staging")),
                get.bool("policy.log-egress-accepted", false),
                switch (get.optional("policy.security-groups", "dynamic")) {
                    case "dynamic" -> io.silk.daemon.policy.nftables.NftablesBackend.SecurityGroupMode.DYNAMIC;
                    case "static" -> io.silk.daemon.policy.nftables.NftablesBackend.SecurityGroupMode.STATIC;
                    default -> throw new IllegalArgumentException(source + ": policy.security-groups "
                            + io.silk.values.Quote.shortened(get.optional("policy.security-groups", "")) + " is not dynamic or static");
                },
                ingressTag(get.optional("policy.ingress-tag", ""), source));
    }

    /** cf's tag: 1 to 4 hex digits ("0004", or "0x4"); "" for none. */
    static int ingressTag(String text, String source) {
        if (text.isEmpty()) {
            return 0;
        }
        try {
            int tag = Integer.parseInt(text.startsWith("0x") ? text.substring(2) : text, 16);
            if (tag >= 1 && tag <= 0xffff) {
                return tag;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException(source + ": policy.ingress-tag " + io.silk.values.Quote.shortened(text)
                + " is not a tag of 1 to 4 hex digits (as PUT /networking/v1/internal/tags answers, e.g. 0004)");
    }

    private static List<String> missing(Path ca, Path certificate, Path key) {
        List<String> missing = new java.util.ArrayList<>();
        if (ca == null) {
            missing.add("tls.ca");
        }
        if (certificate == null) {
            missing.add("tls.certificate");
        }
        if (key == null) {
            missing.add("tls.private-key");
        }
        return missing;
    }

    private record Lookup(Properties p, String source) {
        String required(String key) {
            String v = p.getProperty(key);
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(source + ": " + key + " is required");
            }
            return v.trim();
        }

        String optional(String key, String fallback) {
            String v = p.getProperty(key);
            return v == null || v.isBlank() ? fallback : v.trim();
        }

        boolean bool(String key, boolean fallback) {
            String v = optional(key, String.valueOf(fallback));
            return switch (v.toLowerCase(java.util.Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException(source + ": " + key + " " + io.silk.values.Quote.shortened(v)
                        + " is not true or false");
            };
        }

        int integer(String key, int fallback, int min, int max) {
            String v = optional(key, String.valueOf(fallback));
            try {
                int n = Integer.parseInt(v);
                if (n >= min && n <= max) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(source + ": " + key + " " + io.silk.values.Quote.shortened(v)
                    + " is not a whole number from " + min + " to " + max);
        }

        /** Comma-separated CIDRs or address ranges ("10.0.0.0/8, 192.0.2.10-192.0.2.20"), each checked. */
        List<String> networks(String key) {
            List<String> out = new java.util.ArrayList<>();
            for (String part : optional(key, "").split(",")) {
                String n = part.trim();
                if (n.isEmpty()) {
                    continue;
                }
                try {
                    int dash = n.indexOf('-');
                    if (dash > 0) {
                        Ipv4Address from = Ipv4Address.parse(n.substring(0, dash).trim(), key);
                        Ipv4Address to = Ipv4Address.parse(n.substring(dash + 1).trim(), key);
                        if (from.compareTo(to) > 0) {
                            throw new IllegalArgumentException("ends before it starts");
                        }
                        out.add(from + "-" + to);
                    } else {
                        out.add(io.silk.values.Ipv4Network.parse(n, key).toString());
                    }
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(source + ": " + key + " " + io.silk.values.Quote.shortened(n)
                            + " is not a CIDR or an address range (a.b.c.d-e.f.g.h)");
                }
            }
            return out;
        }

        Path path(String key, String fallback) {
            String v = optional(key, fallback);
            return v == null ? null : Path.of(v);
        }

        Duration duration(String key, String fallback) {
            String v = optional(key, fallback);
            try {
                return parseDuration(v);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(source + ": " + key + " \"" + v + "\" is not a duration (500ms, 30s, 5m, 168h)");
            }
        }
    }

    /** "500ms", "30s", "5m", "168h". */
    public static Duration parseDuration(String text) {
        String t = text.trim();
        if (t.equals("0")) {
            return Duration.ZERO;
        }
        if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        }
        long n = Long.parseLong(t.substring(0, t.length() - 1));
        return switch (t.charAt(t.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            case 'h' -> Duration.ofHours(n);
            default -> throw new IllegalArgumentException(text);
        };
    }
}
