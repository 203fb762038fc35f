package io.silk.daemon.lease;

import io.silk.daemon.controller.Controller;
import io.silk.daemon.controller.Leases;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.Overlay;
import io.silk.daemon.vtep.RemoteLease;
import io.silk.daemon.watch.ResumableWatch;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the controller's leases and keeps the overlay in step: a full resync on every snapshot
 * (first connect, a resume the controller could not replay, or another database), deltas
 * otherwise. A snapshot replaces the whole view, so routes to subnets no cell holds any more go.
 * On a broken stream {@link ResumableWatch} resumes on the next replica; the kernel keeps its last
 * state meanwhile.
 */
public final class LeaseWatcher implements ResumableWatch.Kind<WatchResponse> {

    private static final Logger log = LoggerFactory.getLogger(LeaseWatcher.class);

    private final Controller controller;
    private final CellState cell;
    private final Overlay overlay;
    private final ResumableWatch<WatchResponse> watch;

    // Guarded by this.
    private final Map<Ipv4Address, RemoteLease> remotes = new HashMap<>();
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
                remote(l).ifPresent(rl -> remotes.put(rl.underlayIp(), rl));
            }
            if (self != null) {
                overlay.converge(self, remotes.values());
            }
        }
        for (LeaseEvent e : r.getEventsList()) {
            if (e.getKind() == LeaseEvent.Kind.UPSERTED) {
                Optional<RemoteLease> parsed = remote(e.getLease());
                if (parsed.isEmpty()) {
                    continue;
                }
                RemoteLease rl = parsed.get();
                RemoteLease before = remotes.put(rl.underlayIp(), rl);
                if (self != null) {
                    if (before != null && !before.equals(rl)) {
                        overlay.remove(self, before);
                    }
                    overlay.add(self, rl);
                }
            } else {
                // Going away needs only the cell's address: a lease is known by it.
                Ipv4Address underlay;
                try {
                    underlay = Ipv4Address.parse(e.getLease().getUnderlayIp(), "lease.underlay_ip");
                } catch (BadValue bad) {
                    skipped(bad);
                    continue;
                }
                RemoteLease gone = remotes.remove(underlay);
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

    /** The lease parsed, or empty (logged) when the controller sent a value that does not parse. */
    private static Optional<RemoteLease> remote(Lease l) {
        try {
            return Optional.of(Leases.remote(l));
        } catch (BadValue e) {
            skipped(e);
            return Optional.empty();
        }
    }

    private static void skipped(BadValue e) {
        // One bad lease must not stop the stream (and with it every other cell's routes).
        log.atWarn().addKeyValue("error", e.getMessage()).log("the controller sent a lease that does not parse; skipping it");
    }
}
