package io.silk.daemon.lease;

import io.silk.daemon.controller.Controller;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.Overlay;
import io.silk.daemon.vtep.RemoteLease;
import io.silk.daemon.watch.ResumableWatch;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Watches the controller's leases and keeps the overlay in step: a full resync on every snapshot
 * (first connect, a resume the controller could not replay, or another database), deltas
 * otherwise. A snapshot replaces the whole view, so routes to subnets no cell holds any more go.
 * On a broken stream {@link ResumableWatch} resumes on the next replica; the kernel keeps its last
 * state meanwhile.
 */
public final class LeaseWatcher implements ResumableWatch.Kind<WatchResponse> {

    private final Controller controller;
    private final CellState cell;
    private final Overlay overlay;
    private final ResumableWatch<WatchResponse> watch;

    // Guarded by this.
    private final Map<String, RemoteLease> remotes = new HashMap<>();
    /** True once a snapshot has been applied: before that, the daemon does not know the overlay. */
    private boolean synced;

    public LeaseWatcher(Controller controller, CellState cell, Overlay overlay) {
        this.controller = controller;
        this.cell = cell;
        this.overlay = overlay;
        this.watch = new ResumableWatch<>("leases", controller::address, this);
        cell.subscribe("lease-watcher", (before, now) -> {
            if (now.lease() != null && !Objects.equals(before.lease(), now.lease())) {
                resync(); // a new VTEP for a new lease: put every remote entry back on it
            }
        });
    }

    public boolean connected() {
        return watch.connected();
    }

    public ResumableWatch.Position position() {
        return watch.position();
    }

    public synchronized int remoteCount() {
        return remotes.size();
    }

    public synchronized List<RemoteLease> remotes() {
        return List.copyOf(remotes.values());
    }

    /** Watches until the thread is interrupted. */
    public void watchLoop() {
        watch.run();
    }

    /** Re-applies everything known, e.g. after the VTEP was re-created for a new lease. */
    public synchronized void resync() {
        HeldLease self = cell.current().lease();
        // Before the first snapshot the known set is empty, not "no remote cells": converging to
        // it would remove the routes a restarted daemon found in the kernel.
        if (self != null && synced) {
            overlay.converge(self, remotes.values());
        }
    }

    @Override
    public Controller.Stream open(int attempt, ResumableWatch.Position from, Controller.Listener<WatchResponse> listener) {
        return controller.watchLeases(attempt, WatchRequest.newBuilder().setFromRevision(from.revision())
                .setDatabaseId(from.databaseId()).build(), listener);
    }

    @Override
    public boolean reset(WatchResponse m) {
        return m.getReset();
    }

    @Override
    public long revision(WatchResponse m) {
        return m.getRevision();
    }

    @Override
    public String databaseId(WatchResponse m) {
        return m.getDatabaseId();
    }

    @Override
    public synchronized void apply(WatchResponse r, boolean first) {
        HeldLease self = cell.current().lease();
        if (r.getReset()) {
            synced = true;
            remotes.clear();
            for (Lease l : r.getLeasesList()) {
                remotes.put(l.getUnderlayIp(), remote(l));
            }
            if (self != null) {
                overlay.converge(self, remotes.values());
            }
        }
        for (LeaseEvent e : r.getEventsList()) {
            RemoteLease rl = remote(e.getLease());
            if (e.getKind() == LeaseEvent.Kind.UPSERTED) {
                RemoteLease before = remotes.put(rl.underlayIp(), rl);
                if (self != null) {
                    if (before != null && !before.equals(rl)) {
                        overlay.remove(self, before);
                    }
                    overlay.add(self, rl);
                }
            } else {
                RemoteLease gone = remotes.remove(rl.underlayIp());
                if (self != null && gone != null) {
                    overlay.remove(self, gone);
                }
            }
        }
        if (first && !r.getReset() && self != null && synced) {
            // A resumed stream: deltas caught us up; also repair anything changed in the kernel meanwhile.
            overlay.converge(self, remotes.values());
        }
    }

    private static RemoteLease remote(Lease l) {
        return new RemoteLease(l.getUnderlayIp(), l.getOverlaySubnet(), l.getOverlayHardwareAddr());
    }
}
