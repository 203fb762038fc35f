package io.silk.daemon.lease;

import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.controller.Controller;
import io.silk.daemon.controller.ControllerException;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.Overlay;
import io.silk.daemon.vtep.VtepInKernel;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Network;
import io.silk.values.SilkMacs;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
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
    private final Controller controller;
    private final Overlay overlay;
    private final CellState cell;
    private final StateFile<HeldLease> state;
    private final StateFile<LeaseOrigin> origin;
    private final InstantSource clock;
    private final Instant started;

    private volatile HeldLease lease;
    private volatile int mtu;
    private volatile Instant lastRenewed;
    private volatile String problem;
    /** The database that granted the lease last, sent with renews ("" before the first grant). */
    private volatile String databaseId;

    public LeaseKeeper(DaemonConfig config, Controller controller, Overlay overlay, CellState cell) {
        this(config, controller, overlay, cell, InstantSource.system());
    }

    public LeaseKeeper(DaemonConfig config, Controller controller, Overlay overlay, CellState cell, InstantSource clock) {
        this.config = config;
        this.controller = controller;
        this.overlay = overlay;
        this.cell = cell;
        this.clock = clock;
        this.started = clock.instant();
        this.state = stateFile(config);
        this.origin = new StateFile<>(config.stateDir().resolve("lease-origin.json"), LeaseOrigin.class);
        this.databaseId = origin.read().map(LeaseOrigin::databaseId).orElse("");
    }

    /**
     * Which database granted the lease (kept next to the lease, so it survives restarts): a
     * controller whose database is new learns from it that cells hold leases it lacks.
     */
    public record LeaseOrigin(String databaseId) {}

    /** Where the lease survives restarts. */
    public static StateFile<HeldLease> stateFile(DaemonConfig config) {
        return new StateFile<>(config.stateDir().resolve("lease.json"), HeldLease.class);
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
        Duration since = Duration.between(last, clock.instant());
        if (since.compareTo(config.partitionTolerance()) > 0) {
            return "no successful renew for " + since.toSeconds() + "s (partition tolerance "
                    + config.partitionTolerance().toSeconds() + "s)";
        }
        return null;
    }

    /** The lease this cell held before: from the state file, else what the VTEP in the kernel says. */
    Optional<HeldLease> remembered() {
        Optional<HeldLease> fromFile = state.read().filter(l -> l.underlayIp().equals(config.underlayIp()));
        if (fromFile.isPresent()) {
            return fromFile;
        }
        return overlay.vtepInKernel().flatMap(this::fromVtep);
    }

    /**
     * The lease a VTEP names: its base and network come from its address; the subnet prefix from the
     * daemon's routes to other cells, else from the controller's leases (this cell's own, or any:
     * one pool, one prefix).
     */
    private Optional<HeldLease> fromVtep(VtepInKernel vtep) {
        OptionalInt prefix = vtep.subnetPrefix();
        String source = "routes on the vtep";
        if (prefix.isEmpty()) {
            prefix = prefixFromController(vtep);
            source = "the controller's leases";
        }
        if (prefix.isEmpty()) {
            problem = "no state file, and the vtep names subnet base " + vtep.base() + " in " + vtep.network()
                    + " without its prefix (no routes on it, no lease from the controller to learn the pool's prefix)";
            log.atWarn().addKeyValue("base", vtep.base()).addKeyValue("network", vtep.network())
                    .log("cannot name the lease the vtep was made for yet");
            return Optional.empty();
        }
        Ipv4Network subnet;
        try {
            subnet = new Ipv4Network(vtep.base(), prefix.getAsInt());
        } catch (BadValue e) {
            log.atWarn().addKeyValue("base", vtep.base()).addKeyValue("prefix", prefix.getAsInt())
                    .addKeyValue("error", e.getMessage()).log("the vtep's base does not fit the subnet prefix; not adopting it");
            return Optional.empty();
        }
        log.atInfo().addKeyValue("subnet", subnet).addKeyValue("network", vtep.network()).addKeyValue("prefix_from", source)
                .log("no state file; adopting the lease the vtep names");
        return Optional.of(new HeldLease(config.underlayIp(), subnet, SilkMacs.vtep(subnet), vtep.network()));
    }

    private OptionalInt prefixFromController(VtepInKernel vtep) {
        List<HeldLease> known;
        try {
            known = controller.list();
        } catch (ControllerException e) {
            return OptionalInt.empty();
        }
        Optional<HeldLease> own = known.stream().filter(l -> l.underlayIp().equals(config.underlayIp())).findFirst();
        // Another cell's lease tells the pool's prefix, but not a single overlay IP (a /32 a router holds).
        return own.or(() -> known.stream().filter(l -> l.subnet().prefix() < 32).findFirst())
                .map(l -> OptionalInt.of(l.subnet().prefix())).orElse(OptionalInt.empty());
    }

    /** One attempt to get a lease in place; false when there is none or the controller could not be reached. */
    public boolean establish() {
        Optional<HeldLease> previous = lease != null ? Optional.of(lease) : remembered();
        try {
            if (previous.isPresent()) {
                HeldLease held = previous.get();
                try {
                    install(controller.renew(held, databaseId), "renewed");
                    return true;
                } catch (ControllerException e) {
                    if (e.kind() != ControllerException.Kind.LOST) {
                        throw e;
                    }
                    int running = cell.current().containers().size();
                    if (running > 0) {
                        // Never move a cell with containers to another subnet behind their back.
                        install(held, null);
                        problem = "lease " + held.subnet() + " lost (" + e.getMessage() + ") and " + running
                                + " containers still run here; keeping it locally, not acquiring a new one";
                        log.atError().addKeyValue("subnet", held.subnet()).addKeyValue("containers", running)
                                .addKeyValue("error", e.getMessage()).log("lease lost while containers run; keeping it");
                        return true;
                    }
                    log.atWarn().addKeyValue("subnet", held.subnet()).addKeyValue("error", e.getMessage())
                            .log("lease lost, acquiring a new one");
                }
            } else if (overlay.vtepInKernel().isPresent() && !cell.current().containers().isEmpty()) {
                // A lease is in the kernel that we cannot name yet: a new subnet would move the containers.
                log.atWarn().addKeyValue("containers", cell.current().containers().size())
                        .log("not acquiring a new lease while containers run on the vtep's; will retry");
                return false;
            }
            install(controller.acquire(config.underlayIp()), "acquired");
            return true;
        } catch (ControllerException e) {
            if (lease == null && previous.isPresent()) {
                // Partition at start-up: keep serving the lease we had; the data plane needs no controller.
                install(previous.get(), null);
                log.atWarn().addKeyValue("subnet", previous.get().subnet()).addKeyValue("error", e.getMessage())
                        .log("controller unavailable at start-up; keeping the lease from before");
            }
            if (lease == null) {
                problem = "no lease: " + e.getMessage();
            } else if (e.kind() != ControllerException.Kind.UNREACHABLE) {
                problem = "the controller refused the lease: " + e.getMessage();
            }
            log.atWarn().addKeyValue("kind", e.kind()).addKeyValue("error", e.getMessage()).log("lease call failed, will retry");
            return false;
        }
    }

    private void install(Controller.Granted granted, String how) {
        install(granted.lease(), how);
        String id = granted.databaseId();
        if (!id.isEmpty() && !id.equals(databaseId)) {
            origin.write(new LeaseOrigin(id));
            databaseId = id;
        }
    }

    private synchronized void install(HeldLease fresh, String how) {
        boolean changed = lease == null || !lease.equals(fresh);
        if (changed) {
            mtu = overlay.ensureVtep(fresh, config.mtu());
            state.write(fresh);
            lease = fresh;
            log.atInfo().addKeyValue("subnet", fresh.subnet()).addKeyValue("vtep_mac", fresh.vtepMac())
                    .addKeyValue("network", fresh.overlayNetwork()).log("lease " + (how == null ? "kept" : how));
            cell.lease(fresh, mtu);
        } else if (mtu == 0) {
            mtu = overlay.ensureVtep(fresh, config.mtu());
            cell.lease(fresh, mtu);
        }
        if (how != null) {
            lastRenewed = clock.instant();
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
                log.atWarn().addKeyValue("error", e.toString()).log("renew failed");
            }
        }
    }
}
