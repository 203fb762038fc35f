package io.silk.daemon.ipam;

import io.silk.daemon.lease.StateFile;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Container addresses inside the cell's lease, handed out by the daemon alone (so concurrent ADDs
 * can never get one address twice) and written to disk before the answer goes back, so a daemon
 * restart forgets nothing. Addresses go from .2 upward; .1 is left out as Silk does.
 */
public final class AddressBook {

    /**
     * One attachment: a container's interface and what it was given. The ip stays a string, the
     * file's shape and what the CNI result and the rules print; {@link #address()} is it typed.
     */
    public record Attachment(String containerId, String ifname, String ip, String hostInterface, String appId,
            String spaceId, String orgId, String workload, List<ContainerMetadata.PortMapping> portMappings,
            List<ContainerMetadata.NetOutRule> netOutRules, List<String> dnsServers) {

        /** Files written before the runtime's metadata was kept have none of it. */
        public Attachment {
            spaceId = spaceId == null ? "" : spaceId;
            orgId = orgId == null ? "" : orgId;
            workload = workload == null ? "" : workload;
            portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
            netOutRules = netOutRules == null ? List.of() : List.copyOf(netOutRules);
            dnsServers = dnsServers == null ? List.of() : List.copyOf(dnsServers);
        }

        public Attachment(String containerId, String ifname, String ip, String hostInterface, String appId) {
            this(containerId, ifname, ip, hostInterface, ContainerMetadata.app(appId));
        }

        Attachment(String containerId, String ifname, String ip, String hostInterface, ContainerMetadata m) {
            this(containerId, ifname, ip, hostInterface, m.appId(), m.spaceId(), m.orgId(), m.workload(), m.portMappings(),
                    m.netOutRules(), m.dnsServers());
        }

        public ContainerMetadata metadata() {
            return new ContainerMetadata(appId, spaceId, orgId, workload, portMappings, netOutRules, dnsServers);
        }

        public String key() {
            return key(containerId, ifname);
        }

        public Ipv4Address address() {
            return Ipv4Address.parse(ip, "container ip of " + key());
        }

        static String key(String containerId, String ifname) {
            return containerId + "/" + ifname;
        }
    }

    /** A host port another container on the cell already maps: the runtime's mistake, not a full subnet. */
    public static final class HostPortTaken extends IllegalArgumentException {
        HostPortTaken(String message) {
            super(message);
        }
    }

    /** The file's shape. */
    public record Entries(List<Attachment> attachments) {}

    private final StateFile<Entries> file;
    private final Map<String, Attachment> byKey = new LinkedHashMap<>();

    public AddressBook(Path stateDir) {
        this.file = new StateFile<>(stateDir.resolve("containers.json"), Entries.class);
        file.read().ifPresent(e -> e.attachments().forEach(a -> {
            a.address(); // a file that does not parse stops the daemon here, naming the attachment
            byKey.put(a.key(), a);
        }));
    }

    public synchronized Optional<Attachment> find(String containerId, String ifname) {
        return Optional.ofNullable(byKey.get(Attachment.key(containerId, ifname)));
    }

    /**
     * The address of this attachment: the one it has, or the lowest free one in the subnet.
     * Throws when the subnet is full.
     */
    public Attachment allocate(Ipv4Network subnet, String containerId, String ifname, String hostInterface, String appId) {
        return allocate(subnet, containerId, ifname, hostInterface, ContainerMetadata.app(appId));
    }

    public synchronized Attachment allocate(Ipv4Network subnet, String containerId, String ifname, String hostInterface,
            ContainerMetadata metadata) {
        Attachment existing = byKey.get(Attachment.key(containerId, ifname));
        if (existing != null) {
            return existing;
        }
        // Checked here, under the book's lock: two ADDs at once must not both map one host port.
        for (ContainerMetadata.PortMapping m : metadata.portMappings()) {
            for (Attachment other : byKey.values()) {
                if (!other.containerId().equals(containerId) && other.portMappings().stream()
                        .anyMatch(o -> o.hostPort() == m.hostPort() && o.protocol().equals(m.protocol()))) {
                    throw new HostPortTaken("host port " + m.protocol() + "/" + m.hostPort() + " is already mapped to container "
                            + io.silk.values.Quote.shortened(other.containerId()));
                }
            }
        }
        Set<Ipv4Address> taken = new HashSet<>();
        byKey.values().forEach(a -> taken.add(a.address()));
        long size = subnet.size();
        for (long host = 2; host < size - 1; host++) {
            Ipv4Address ip = subnet.base().plus((int) host);
            if (!taken.contains(ip)) {
                Attachment a = new Attachment(containerId, ifname, ip.toString(), hostInterface, metadata);
                byKey.put(a.key(), a);
                save();
                return a;
            }
        }
        throw new IllegalStateException("no free address in " + subnet + " (" + byKey.size() + " containers)");
    }

    public synchronized Optional<Attachment> release(String containerId, String ifname) {
        Attachment a = byKey.remove(Attachment.key(containerId, ifname));
        if (a != null) {
            save();
        }
        return Optional.ofNullable(a);
    }

    public synchronized List<Attachment> all() {
        return new ArrayList<>(byKey.values());
    }

    public synchronized int size() {
        return byKey.size();
    }

    private void save() {
        file.write(new Entries(new ArrayList<>(byKey.values())));
    }
}
