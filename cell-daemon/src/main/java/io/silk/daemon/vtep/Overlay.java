package io.silk.daemon.vtep;

import io.silk.daemon.lease.HeldLease;
import java.util.Collection;
import java.util.Optional;

/**
 * The cell's side of the VXLAN overlay: the VTEP, and per remote lease a route, an ARP entry and an
 * FDB entry. {@link KernelOverlay} programs the kernel; the logic above it needs only this.
 */
public interface Overlay {

    /** What a VTEP left in the kernel says about the lease it was made for, if there is one. */
    Optional<VtepInKernel> vtepInKernel();

    /** Creates (or re-creates, if it does not match the lease) the VTEP; returns its MTU. */
    int ensureVtep(HeldLease lease, int configuredMtu);

    /** Full resync: the kernel ends up with exactly the entries these leases need (others' entries left alone). */
    void converge(HeldLease self, Collection<RemoteLease> remotes);

    /** A remote lease appeared or changed. */
    void add(HeldLease self, RemoteLease remote);

    /** A remote lease went away (released, reclaimed or expired). */
    void remove(HeldLease self, RemoteLease remote);

    /** Removes the VTEP and every entry the daemon made on it; false when there was none. */
    boolean removeAll();
}
