package io.silk.daemon.ipam;

import io.silk.daemon.lease.StateFile;
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

    /** One attachment: a container's interface and what it was given. */
    public record Attachment(String containerId, String ifname, String ip, String hostInterface, String appId) {
        public String key() {
            return key(containerId, ifname);
        }

        static String key(String containerId, String ifname) {
            return containerId + "/" + ifname;
        }
    }

    /** The file's shape. */
    public record Entries(List<Attachment> attachments) {}

    private final StateFile<Entries> file;
    private final Map<String, Attachment> byKey = new LinkedHashMap<>();

    public AddressBook(Path stateDir) {
        this.file = new StateFile<>(stateDir.resolve("containers.json"), Entries.class);
        file.read().ifPresent(e -> e.attachments().forEach(a -> byKey.put(a.key(), a)));
    }

    public synchronized Optional<Attachment> find(String containerId, String ifname) {
        return Optional.ofNullable(byKey.get(Attachment.key(containerId, ifname)));
    }

    /**
     * The address of this attachment: the one it has, or the lowest free one in the subnet.
     * Throws when the subnet is full.
     */
    public synchronized Attachment allocate(String subnet, String containerId, String ifname, String hostInterface, String appId) {
        Attachment existing = byKey.get(Attachment.key(containerId, ifname));
        if (existing != null) {
            return existing;
        }
        int slash = subnet.indexOf('/');
        int base = toInt(subnet.substring(0, slash));
        int prefix = Integer.parseInt(subnet.substring(slash + 1));
        int size = 1 << (32 - prefix);
        Set<String> taken = new HashSet<>();
        byKey.values().forEach(a -> taken.add(a.ip()));
        for (int host = 2; host < size - 1; host++) {
            String ip = toText(base + host);
            if (!taken.contains(ip)) {
                Attachment a = new Attachment(containerId, ifname, ip, hostInterface, appId);
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

    static int toInt(String ip) {
        String[] o = ip.split("\\.");
        return (Integer.parseInt(o[0]) << 24) | (Integer.parseInt(o[1]) << 16) | (Integer.parseInt(o[2]) << 8) | Integer.parseInt(o[3]);
    }

    static String toText(int v) {
        return ((v >>> 24) & 0xff) + "." + ((v >>> 16) & 0xff) + "." + ((v >>> 8) & 0xff) + "." + (v & 0xff);
    }
}
