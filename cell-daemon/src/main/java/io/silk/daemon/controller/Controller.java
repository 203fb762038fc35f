package io.silk.daemon.controller;

import io.silk.daemon.lease.HeldLease;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.values.Ipv4Address;
import io.silk.proto.v1.PolicyWatchResponse;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import java.util.List;

/**
 * What the daemon asks of the control plane: its lease, and two resumable streams. Unary calls
 * throw {@link ControllerException}, which says whether the lease is lost, refused, or the
 * controller merely unreachable; the daemon decides what each means for the cell. Leases come back
 * typed: a value the controller sends that does not parse is a {@link ControllerException} of kind
 * REFUSED whose message names the field.
 */
public interface Controller extends AutoCloseable {

    /** The cell's lease, allocated if it holds none (idempotent per cell). */
    Granted acquire(Ipv4Address underlayIp);

    /**
     * Keeps the lease alive (re-inserted if the controller's database lost it and the subnet is
     * free). {@code databaseId}: the database the lease was last granted by ("" if unknown).
     */
    Granted renew(HeldLease held, String databaseId);

    /**
     * A lease as the controller granted it, and the identity of the database that holds it: sent
     * back with the next renew, so that a controller on a new database knows cells hold leases it
     * lacks (and holds new cells back until they have renewed).
     */
    record Granted(HeldLease lease, String databaseId) {}

    /** Gives the lease back; true when there was one. */
    boolean release(Ipv4Address underlayIp);

    /** The routable leases, each with the overlay network. */
    List<HeldLease> list();

    /** Opens one lease watch on the replica for {@code attempt}. */
    Stream watchLeases(int attempt, WatchRequest request, Listener<WatchResponse> listener);

    /** Opens one policy watch on the replica for {@code attempt}. */
    Stream watchPolicies(int attempt, PolicyWatchRequest request, Listener<PolicyWatchResponse> listener);

    /** The replica an attempt goes to (for logs). */
    String address(int attempt);

    @Override
    void close();

    /** Receives one stream's messages, then its end. Calls are serial per stream. */
    interface Listener<M> {
        void onMessage(M message);

        /** The stream ended: {@code cause} is null when the server completed it. */
        void onEnd(Throwable cause);
    }

    /** An open stream. */
    interface Stream {
        void cancel(String why);
    }
}
