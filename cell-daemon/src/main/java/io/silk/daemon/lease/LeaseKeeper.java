package io.silk.daemon.lease;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.vtep.Overlay;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.RenewRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the cell's lease for the daemon's lifetime. On start it renews the lease it held (state
 * file first, then the VTEP left in the kernel) instead of acquiring a new one; it takes a new
 * subnet only when it holds none, or its lease is truly lost and no containers run on the cell.
 * While the controller is unreachable it keeps the lease it has: the data plane goes on as it is.
 */
public final class LeaseKeeper {

    private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

    private final DaemonConfig config;
    private final ControllerClient controller;
    private final Overlay overlay;
    private final StateFile<HeldLease> state;
    private final IntSupplier containers;

    private volatile HeldLease lease;
    private volatile int mtu;
    private volatile Instant lastRenewed;
    private volatile String problem;
    private final Instant started = Instant.now();
    private Runnable onNewLease = () -> {};

    public LeaseKeeper(DaemonConfig config, ControllerClient controller, Overlay overlay, IntSupplier containers) {
        this.config = config;
        this.controller = controller;
        this.overlay = overlay;
        this.containers = containers;
        this.state = new StateFile<>(config.stateDir().resolve("lease.json"), HeldLease.class);
    }

    public void onNewLease(Runnable r) {
        this.onNewLease = r;
    }

    public HeldLease lease() {
        return lease;
    }

    public int mtu() {
        return mtu;
    }

    public Instant lastRenewed() {
        return lastRenewed;
    }

    /** Why the daemon is unhealthy, or null. */
    public String problem() {
        HeldLease l = lease;
        if (l == null) {
            return problem != null ? problem : "no lease yet";
        }
        if (problem != null) {
            return problem;
        }
        // A daemon that started cut off counts from its start.
        Instant last = lastRenewed != null ? lastRenewed : started;
        Duration since = Duration.between(last, Instant.now());
        if (since.compareTo(config.partitionTolerance()) > 0) {
            return "no successful renew for " + since.toSeconds() + "s (partition tolerance "
                    + config.partitionTolerance().toSeconds() + "s)";
        }
        return null;
    }

    /** The lease this cell held before, from the state file or, failing that, the VTEP. */
    Optional<HeldLease> remembered() {
        Optional<HeldLease> fromFile = state.read().filter(l -> l.underlayIp().equals(config.underlayIp()));
        if (fromFile.isPresent()) {
            return fromFile;
        }
        return overlay.vtepBaseIp().map(base -> {
            log.info("no state file; adopting the lease the vtep names base={}", base);
            // Prefix lengths are Silk's defaults; the controller corrects them on renew if they differ.
            return new HeldLease(config.underlayIp(), base + "/24", HeldLease.vtepMacFor(base),
                    base.substring(0, base.indexOf('.', base.indexOf('.') + 1)) + ".0.0/16");
        });
    }

    /** One attempt to get a lease in place; false when the controller could not be reached. */
    public boolean establish() {
        Optional<HeldLease> previous = lease != null ? Optional.of(lease) : remembered();
        try {
            if (previous.isPresent()) {
                HeldLease held = previous.get();
                try {
                    var r = controller.call(s -> s.renew(RenewRequest.newBuilder().setLease(Lease.newBuilder()
                            .setUnderlayIp(held.underlayIp()).setOverlaySubnet(held.subnet())
                            .setOverlayHardwareAddr(held.vtepMac())).build()));
                    install(toHeld(r.getLease(), r.getOverlayNetwork()), "renewed");
                    return true;
                } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() != Status.Code.FAILED_PRECONDITION) {
                        throw e;
                    }
                    int running = containers.getAsInt();
                    if (running > 0) {
                        // Never move a cell with containers to another subnet behind their back.
                        install(held, null);
                        problem = "lease " + held.subnet() + " lost (" + e.getStatus().getDescription() + ") and "
                                + running + " containers still run here; keeping it locally, not acquiring a new one";
                        log.error(problem);
                        return true;
                    }
                    log.warn("lease lost, acquiring a new one: {}", e.getStatus().getDescription());
                }
            }
            var r = controller.call(s -> s.acquire(AcquireRequest.newBuilder().setUnderlayIp(config.underlayIp()).build()));
            install(toHeld(r.getLease(), r.getOverlayNetwork()), "acquired");
            return true;
        } catch (StatusRuntimeException | io.github.resilience4j.circuitbreaker.CallNotPermittedException e) {
            if (lease == null && previous.isPresent()) {
                // Partition at start-up: keep serving the lease we had; the data plane needs no controller.
                install(previous.get(), null);
                log.warn("controller unavailable at start-up; keeping the lease from before subnet={}", previous.get().subnet());
            }
            boolean retriable = ControllerClient.retriable(e) || e instanceof io.github.resilience4j.circuitbreaker.CallNotPermittedException;
            if (lease == null) {
                problem = "no lease: " + e.getMessage();
            } else if (!retriable) {
                problem = "the controller refused the lease: " + e.getMessage();
            }
            log.warn("lease call failed, will retry: {}", e.getMessage());
            return false;
        }
    }

    private HeldLease toHeld(Lease l, String network) {
        return new HeldLease(l.getUnderlayIp(), l.getOverlaySubnet(), l.getOverlayHardwareAddr(), network);
    }

    private synchronized void install(HeldLease fresh, String how) {
        boolean changed = lease == null || !lease.equals(fresh);
        if (changed) {
            mtu = overlay.ensureVtep(fresh, config.mtu());
            state.write(fresh);
            lease = fresh;
            log.info("lease {} subnet={} vtep_mac={} network={}", how == null ? "kept" : how, fresh.subnet(),
                    fresh.vtepMac(), fresh.overlayNetwork());
            onNewLease.run();
        } else if (mtu == 0) {
            mtu = overlay.ensureVtep(fresh, config.mtu());
        }
        if (how != null) {
            lastRenewed = Instant.now();
            problem = null;
        }
    }

    /** Renews until interrupted: at the configured interval ±20 %, sooner while there is no lease. */
    public void renewLoop() {
        while (!Thread.currentThread().isInterrupted()) {
            long base = lease == null ? 1000 : config.renewInterval().toMillis();
            long sleep = (long) (base * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                return;
            }
            try {
                establish();
            } catch (RuntimeException e) {
                log.warn("renew failed: {}", e.getMessage());
            }
        }
    }

    /** Gives the lease back and removes the VTEP: the cell is retired. */
    public void teardown() {
        Optional<HeldLease> held = lease != null ? Optional.of(lease) : remembered();
        controller.call(s -> s.release(io.silk.proto.v1.ReleaseRequest.newBuilder()
                .setUnderlayIp(config.underlayIp()).build()));
        overlay.removeVtep();
        state.delete();
        log.info("cell retired: lease released subnet={}", held.map(HeldLease::subnet).orElse("none"));
    }
}
