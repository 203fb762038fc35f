package io.silk.daemon.policy;

import io.silk.daemon.controller.Controller;
import io.silk.daemon.lease.HeldLease;
import io.silk.daemon.state.CellState;
import io.silk.daemon.watch.ResumableWatch;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import io.silk.proto.v1.SecurityGroup;
import io.silk.proto.v1.SecurityGroupBinding;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the policies of the apps on this cell and keeps the enforced rules in step: a snapshot or
 * a change of the cell (lease, containers) applies the whole inputs, and policy changes go to the
 * backend as changes (nftables then writes only their elements), each atomically. When the set of apps on the cell
 * changes the watch starts over for the new set; a broken watch resumes from its position. A
 * snapshot replaces every policy known. Until the first snapshot after a restart the rules the
 * kernel has are left as they are.
 */
public final class PolicyWatcher implements ResumableWatch.Kind<PolicyWatchResponse> {

    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

    private final Controller controller;
    private final CellState cell;
    private final PolicyBackend backend;
    private final boolean logDenied;
    private final ResumableWatch<PolicyWatchResponse> watch;
    private final io.micrometer.core.instrument.Timer applyTimer;
    private final io.micrometer.core.instrument.Timer changeTimer;

    // Guarded by this.
    private final Map<Long, C2CPolicy> c2c = new LinkedHashMap<>();
    private final Map<Long, EgressPolicy> egress = new LinkedHashMap<>();
    private final Map<String, SecurityGroup> securityGroups = new LinkedHashMap<>();
    private final Map<Long, SecurityGroupBinding> bindings = new LinkedHashMap<>();
    private Set<String> watchedApps = Set.of();
    private Set<String> watchedSpaces = Set.of();
    private boolean synced;
    /** A cell with no silk rules before this start: it may render default-deny before the first snapshot. */
    private boolean freshCell;
    private boolean prepared;
    private PolicyRules.Inputs lastApplied;
    /** The backend enforces what this process gave it (an apply happened since start). */
    private boolean appliedOnce;

    public PolicyWatcher(Controller controller, CellState cell, PolicyBackend backend, boolean logDenied) {
        this(controller, cell, backend, logDenied, new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    /** With {@code silk_policy_apply_seconds{kind="whole"|"changes"}}: how long the backend took. */
    public PolicyWatcher(Controller controller, CellState cell, PolicyBackend backend, boolean logDenied,
            io.micrometer.core.instrument.MeterRegistry metrics) {
        this.applyTimer = applyTimer(metrics, "whole");
        this.changeTimer = applyTimer(metrics, "changes");
        this.controller = controller;
        this.cell = cell;
        this.backend = backend;
        this.logDenied = logDenied;
        this.watch = new ResumableWatch<>("policies", controller::address, this);
    }

    private static io.micrometer.core.instrument.Timer applyTimer(io.micrometer.core.instrument.MeterRegistry metrics, String kind) {
        return io.micrometer.core.instrument.Timer.builder("silk.policy.apply")
                .description("Time the policy backend took to enforce a whole set of inputs or a batch of policy changes")
                .tag("kind", kind).publishPercentileHistogram().register(metrics);
    }

    public boolean connected() {
        return watch.connected();
    }

    public ResumableWatch.Position position() {
        return watch.position();
    }

    /** Messages applied since start. */
    public long rulesApplied() {
        return watch.applied();
    }

    public synchronized List<C2CPolicy> policies() {
        return List.copyOf(c2c.values());
    }

    /** Sets up the hooks (a cell with no silk rules yet starts from default deny), then follows the cell. */
    public void prepare() {
        boolean fresh = backend.prepare();
        synchronized (this) {
            freshCell = fresh;
            prepared = true;
        }
        render();
        // Off the CNI answer's path: the cell state calls back on a thread of its own. Until the rules
        // follow, a new container's traffic is denied (fail closed), never wrongly allowed.
        cell.subscribe("policy", (before, now) -> {
            if (!Objects.equals(before.lease(), now.lease()) || !before.containers().equals(now.containers())) {
                render();
            }
            boolean restart;
            synchronized (this) {
                restart = !now.apps().equals(watchedApps) || !now.spaces().equals(watchedSpaces);
            }
            if (restart) {
                watch.restart(true, "the cell's apps or spaces changed");
            }
        });
    }

    /** Watches until the thread is interrupted. */
    public void watchLoop() {
        watch.run();
    }

    @Override
    public Controller.Stream open(int attempt, ResumableWatch.Position from, Controller.Listener<PolicyWatchResponse> listener) {
        CellState.Snapshot now = cell.current();
        Set<String> apps = now.apps();
        Set<String> spaces = now.spaces();
        ResumableWatch.Position at = from;
        synchronized (this) {
            if (!apps.equals(watchedApps) || !spaces.equals(watchedSpaces)) {
                at = ResumableWatch.Position.START; // another set of apps or spaces: start from a snapshot
            }
            watchedApps = apps;
            watchedSpaces = spaces;
        }
        return controller.watchPolicies(attempt, PolicyWatchRequest.newBuilder().addAllAppIds(apps).addAllSpaceIds(spaces)
                .setFromRevision(at.revision()).setDatabaseId(at.databaseId()).build(), listener);
    }

    @Override
    public boolean reset(PolicyWatchResponse m) {
        return m.getReset();
    }

    @Override
    public long revision(PolicyWatchResponse m) {
        return m.getRevision();
    }

    @Override
    public String databaseId(PolicyWatchResponse m) {
        return m.getDatabaseId();
    }

    @Override
    public synchronized void apply(PolicyWatchResponse r, boolean first) {
        if (r.getReset()) {
            c2c.clear();
            egress.clear();
            securityGroups.clear();
            bindings.clear();
            r.getPoliciesList().forEach(p -> c2c.put(p.getId(), p));
            r.getEgressPoliciesList().forEach(p -> egress.put(p.getId(), p));
            r.getSecurityGroupsList().forEach(g -> securityGroups.put(g.getGuid(), g));
            r.getSecurityGroupBindingsList().forEach(b -> bindings.put(b.getId(), b));
            synced = true;
        }
        for (PolicyChange ch : r.getChangesList()) {
            if (ch.hasC2C()) {
                if (ch.getKind() == PolicyChange.Kind.CREATED) {
                    c2c.put(ch.getC2C().getId(), ch.getC2C());
                } else {
                    c2c.remove(ch.getC2C().getId());
                }
            } else if (ch.hasEgress()) {
                if (ch.getKind() == PolicyChange.Kind.CREATED) {
                    egress.put(ch.getEgress().getId(), ch.getEgress());
                } else {
                    egress.remove(ch.getEgress().getId());
                }
            } else if (ch.hasSecurityGroup()) {
                if (ch.getKind() == PolicyChange.Kind.CREATED) {
                    securityGroups.put(ch.getSecurityGroup().getGuid(), ch.getSecurityGroup());
                } else {
                    securityGroups.remove(ch.getSecurityGroup().getGuid());
                }
            } else if (ch.hasSecurityGroupBinding()) {
                if (ch.getKind() == PolicyChange.Kind.CREATED) {
                    bindings.put(ch.getSecurityGroupBinding().getId(), ch.getSecurityGroupBinding());
                } else {
                    bindings.remove(ch.getSecurityGroupBinding().getId());
                }
            }
        }
        if (r.getReset()) {
            render();
        } else if (r.getChangesCount() > 0) {
            changed(r.getChangesList());
        }
    }

    /** Repairs what the backend wrote (periodically: rules removed behind the daemon's back). */
    public synchronized void reconcile() {
        if (appliedOnce) {
            backend.reconcile();
        }
    }

    /** Policies changed, nothing else: the backend changes what they touch. */
    private void changed(List<PolicyChange> changes) {
        if (!ready() || !appliedOnce) {
            render();
            return;
        }
        long t0 = System.nanoTime();
        backend.change(changes, () -> inputs(cell.current()));
        changeTimer.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        // What the kernel has is now lastApplied plus the changes: the next render applies afresh.
        lastApplied = null;
        log.atDebug().addKeyValue("changes", changes.size()).addKeyValue("us", (System.nanoTime() - t0) / 1_000)
                .log("policy changes applied");
    }

    private boolean ready() {
        // After a restart the kernel's rules stand until the first snapshot: rendering from an
        // empty policy set would cut connections that stay allowed.
        return prepared && cell.current().lease() != null && (synced || freshCell);
    }

    private PolicyRules.Inputs inputs(CellState.Snapshot now) {
        HeldLease lease = now.lease();
        List<PolicyRules.LocalContainer> containers = now.containers().stream()
                .map(a -> new PolicyRules.LocalContainer(a.ip(), a.metadata())).toList();
        return new PolicyRules.Inputs(lease.subnet().toString(), lease.overlayNetwork().toString(), containers,
                synced ? List.copyOf(c2c.values()) : List.of(), synced ? List.copyOf(egress.values()) : List.of(),
                synced ? List.copyOf(securityGroups.values()) : List.of(), synced ? List.copyOf(bindings.values()) : List.of(),
                logDenied);
    }

    /** Re-renders and applies; only once the cell has a lease and knows its policies. */
    private synchronized void render() {
        if (!ready()) {
            return;
        }
        PolicyRules.Inputs inputs = inputs(cell.current());
        if (inputs.equals(lastApplied)) {
            return;
        }
        long t0 = System.nanoTime();
        backend.apply(inputs);
        applyTimer.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        lastApplied = inputs;
        appliedOnce = true;
        log.atDebug().addKeyValue("c2c", c2c.size()).addKeyValue("egress", egress.size())
                .addKeyValue("containers", inputs.containers().size()).addKeyValue("ms", (System.nanoTime() - t0) / 1_000_000)
                .log("policy rules applied");
    }
}
