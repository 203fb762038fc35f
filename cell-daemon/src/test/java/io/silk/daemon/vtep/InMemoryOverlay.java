package io.silk.daemon.vtep;

import io.silk.daemon.lease.HeldLease;
import io.silk.values.Ipv4Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/** The overlay as data, for the logic above it: what a kernel would hold, without one. */
public final class InMemoryOverlay implements Overlay {

    private Optional<VtepInKernel> left = Optional.empty();
    private HeldLease vtep;
    private final Map<Ipv4Address, RemoteLease> remotes = new LinkedHashMap<>();
    private final List<String> operations = new ArrayList<>();

    /** A VTEP an earlier run left behind. */
    public synchronized InMemoryOverlay leftBehind(VtepInKernel v) {
        left = Optional.of(v);
        return this;
    }

    public synchronized HeldLease vtep() {
        return vtep;
    }

    public synchronized Map<Ipv4Address, RemoteLease> remotes() {
        return Map.copyOf(remotes);
    }

    public synchronized List<String> operations() {
        return List.copyOf(operations);
    }

    @Override
    public synchronized Optional<VtepInKernel> vtepInKernel() {
        if (vtep == null) {
            return left;
        }
        OptionalInt routes = remotes.values().stream().mapToInt(r -> r.subnet().prefix()).findFirst();
        return Optional.of(new VtepInKernel(vtep.baseIp(), vtep.overlayNetwork().prefix(), vtep.vtepMac(), routes));
    }

    @Override
    public synchronized int ensureVtep(HeldLease lease, int configuredMtu) {
        if (!lease.equals(vtep)) {
            operations.add("vtep " + lease.subnet());
            vtep = lease;
        }
        return configuredMtu > 0 ? configuredMtu : 1450;
    }

    @Override
    public synchronized void converge(HeldLease self, Collection<RemoteLease> all) {
        operations.add("converge " + all.size());
        remotes.clear();
        all.stream().filter(r -> !r.underlayIp().equals(self.underlayIp())).forEach(r -> remotes.put(r.underlayIp(), r));
    }

    @Override
    public synchronized void add(HeldLease self, RemoteLease r) {
        if (!r.underlayIp().equals(self.underlayIp())) {
            operations.add("add " + r.subnet());
            remotes.put(r.underlayIp(), r);
        }
    }

    @Override
    public synchronized void remove(HeldLease self, RemoteLease r) {
        operations.add("remove " + r.subnet());
        remotes.remove(r.underlayIp(), r);
    }

    @Override
    public synchronized boolean removeAll() {
        boolean had = vtep != null || left.isPresent();
        vtep = null;
        left = Optional.empty();
        remotes.clear();
        return had;
    }
}
