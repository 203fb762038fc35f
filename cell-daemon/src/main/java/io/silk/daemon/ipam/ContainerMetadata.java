package io.silk.daemon.ipam;

import java.util.List;
import java.util.Set;

/**
 * Who a container is, as the runtime says at ADD (Cloud Foundry's garden-external-networker: the
 * configuration's {@code metadata} and {@code runtimeConfig.portMappings}): its app (policy
 * group), space, org and workload, and the host ports that reach it from outside the overlay.
 * Empty strings where the runtime said nothing.
 */
public record ContainerMetadata(String appId, String spaceId, String orgId, String workload, List<PortMapping> portMappings) {

    /** Cloud Foundry's {@code container_workload} values ("" when the runtime does not say). */
    public static final Set<String> WORKLOADS = Set.of("app", "task", "staging");

    public static final ContainerMetadata NONE = new ContainerMetadata("", "", "", "", List.of());

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

    public ContainerMetadata {
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
}
