package io.silk.daemon.lease;

import io.grpc.stub.StreamObserver;
import io.silk.daemon.vtep.Overlay;
import io.silk.daemon.vtep.RemoteLease;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the controller's leases and keeps the overlay in step: a full resync on every snapshot
 * (first connect, or a resume the controller could not replay), deltas otherwise. On a broken
 * stream it resumes from its revision on the next replica, backing off; the kernel keeps its last
 * state meanwhile.
 */
public final class LeaseWatcher {

    private static final Logger log = LoggerFactory.getLogger(LeaseWatcher.class);

    private final ControllerClient controller;
    private final LeaseKeeper keeper;
    private final Overlay overlay;
    private final Map<String, RemoteLease> remotes = new HashMap<>();
    private long revision;
    /** True once a snapshot has been applied: before that, the daemon does not know the overlay. */
    private boolean synced;
    /** Set for each new stream: its first message triggers a full resync against the kernel. */
    private boolean freshStream;
    private volatile boolean connected;
    private final AtomicLong applied = new AtomicLong();

    public LeaseWatcher(ControllerClient controller, LeaseKeeper keeper, Overlay overlay) {
        this.controller = controller;
        this.keeper = keeper;
        this.overlay = overlay;
    }

    public boolean connected() {
        return connected;
    }

    public synchronized int remoteCount() {
        return remotes.size();
    }

    public long changesApplied() {
        return applied.get();
    }

    /** Re-applies everything known, e.g. after the VTEP was re-created for a new lease. */
    public synchronized void resync() {
        HeldLease self = keeper.lease();
        // Before the first snapshot the known set is empty, not "no remote cells": converging to
        // it would remove the routes a restarted daemon found in the kernel.
        if (self != null && synced) {
            overlay.converge(self, remotes.values());
        }
    }

    public void watchLoop() {
        long backoff = 200;
        for (int attempt = 0; !Thread.currentThread().isInterrupted(); attempt++) {
            CountDownLatch ended = new CountDownLatch(1);
            String address = controller.address(attempt);
            long from;
            synchronized (this) {
                from = revision;
                freshStream = true;
            }
            LeaseServiceGrpc.newStub(controller.channel(attempt)).watch(
                    WatchRequest.newBuilder().setFromRevision(from).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(WatchResponse r) {
                            if (!connected) {
                                log.info("watching leases controller={} from_revision={}", address, from);
                            }
                            connected = true;
                            apply(r);
                        }

                        @Override
                        public void onError(Throwable t) {
                            if (connected) {
                                log.warn("lease watch broke controller={}: {}", address, t.getMessage());
                            }
                            connected = false;
                            ended.countDown();
                        }

                        @Override
                        public void onCompleted() {
                            connected = false;
                            ended.countDown();
                        }
                    });
            long before = applied.get();
            try {
                ended.await();
                if (applied.get() > before) {
                    backoff = 200; // the stream worked for a while: reconnect quickly
                }
                Thread.sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                backoff = Math.min(backoff * 2, 5000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    synchronized void apply(WatchResponse r) {
        HeldLease self = keeper.lease();
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
        if (freshStream && !r.getReset() && self != null && synced) {
            // A resumed stream: deltas caught us up; also repair anything changed in the kernel meanwhile.
            overlay.converge(self, remotes.values());
        }
        freshStream = false;
        revision = Math.max(revision, r.getRevision());
        applied.incrementAndGet();
    }

    private static RemoteLease remote(Lease l) {
        return new RemoteLease(l.getUnderlayIp(), l.getOverlaySubnet(), l.getOverlayHardwareAddr());
    }
}
