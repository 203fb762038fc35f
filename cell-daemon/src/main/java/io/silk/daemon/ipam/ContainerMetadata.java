package io.silk.daemon.ipam;

import java.util.List;
import java.util.Set;

/**
 * Who a container is, as the runtime says at ADD (Cloud Foundry's garden-external-networker: the
 * configuration's {@code metadata} and {@code runtimeConfig.portMappings}): its app (policy
 * group), space, org and workload, and the host ports that reach it from outside the overlay.
 * Empty strings where the runtime said nothing.
 */
public record ContainerMetadata(String appId, String spaceId, String orgId, String workload, List<PortMapping> portMappings,
        List<NetOutRule> netOutRules, List<String> dnsServers) {

    /** Cloud Foundry's {@code container_workload} values ("" when the runtime does not say). */
    public static final Set<String> WORKLOADS = Set.of("app", "task", "staging");

    public static final ContainerMetadata NONE = new ContainerMetadata("", "", "", "", List.of(), List.of(), List.of());

    /** An inclusive range of IPv4 addresses (as unsigned numbers) or of ports. */
    public record Range(long start, long end) {
        public Range {
            if (start > end) {
                throw new IllegalArgumentException("range " + start + "-" + end + " is empty");
            }
        }
    }

    /**
     * One of the security-group rules the runtime passed at ADD (Cloud Foundry's {@code netOutRules},
     * static mode): what the container may reach outside the overlay.
     *
     * @param protocol "all", "tcp", "udp" or "icmp"
     * @param networks destination addresses; empty: every address
     * @param ports    destination ports (tcp, udp); empty: every port
     * @param icmpType ICMP type, -1 for any; {@code icmpCode} likewise
     * @param log      log the new connections it lets out
     */
    public record NetOutRule(String protocol, List<Range> networks, List<Range> ports, int icmpType, int icmpCode, boolean log) {
        public NetOutRule {
            networks = networks == null ? List.of() : List.copyOf(networks);
            ports = ports == null ? List.of() : List.copyOf(ports);
        }
    }

    /** A host port DNAT'ed to the container's port, for "tcp" or "udp". */
    public record PortMapping(int hostPort, int containerPort, String protocol) {
        public PortMapping {
            if (hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535) {
                throw new IllegalArgumentException("port mapping " + hostPort + " -> " + containerPort + ": ports are 1 to 65535");
            }
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw new IllegalArgumentException("port mapping " + hostPort + " -> " + containerPort + ": protocol "
                        + io.silk.values.Quote.shortened(protocol) + " is not tcp or udp");
            }
        }
    }

    public ContainerMetadata(String appId, String spaceId, String orgId, String workload, List<PortMapping> portMappings) {
        this(appId, spaceId, orgId, workload, portMappings, List.of(), List.of());
    }

    public ContainerMetadata {
        netOutRules = netOutRules == null ? List.of() : List.copyOf(netOutRules);
        dnsServers = dnsServers == null ? List.of() : List.copyOf(dnsServers);
        appId = appId == null ? "" : appId;
        spaceId = spaceId == null ? "" : spaceId;
        orgId = orgId == null ? "" : orgId;
        workload = workload == null ? "" : workload;
        portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
        if (!workload.isEmpty() && !WORKLOADS.contains(workload)) {
            throw new IllegalArgumentException("container_workload " + io.silk.values.Quote.shortened(workload)
                    + " is not app, task or staging");
        }
    }

    public static ContainerMetadata app(String appId) {
        return new ContainerMetadata(appId, "", "", "", List.of());
    }

    public boolean staging() {
        return workload.equals("staging");
    }
}
