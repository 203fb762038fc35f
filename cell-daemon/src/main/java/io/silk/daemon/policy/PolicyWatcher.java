package io.silk.daemon.policy;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.ControllerClient;
import io.silk.daemon.lease.HeldLease;
import io.silk.daemon.lease.LeaseKeeper;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the policies of the apps on this cell and keeps the iptables rules in step: every
 * change re-renders the silk chains and replaces them atomically. When the set of apps on the
 * cell changes the watch starts over for the new set; a broken watch resumes from its revision.
 * Until the first snapshot after a restart the rules the kernel has are left as they are.
 */
public final class PolicyWatcher {

    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

    private final ControllerClient controller;
    private final AddressBook addresses;
    private final LeaseKeeper keeper;
    private final Iptables iptables;
    private final boolean logDenied;

    // Guarded by this.
    private final Map<Long, C2CPolicy> c2c = new LinkedHashMap<>();
    private final Map<Long, EgressPolicy> egress = new LinkedHashMap<>();
    private Set<String> watchedApps = Set.of();
    private long revision;
    private boolean synced;
    /** A cell with no silk rules before this start: it may render default-deny before the first snapshot. */
    private boolean freshCell;
    private ClientCallStreamObserver<PolicyWatchRequest> call;
    /** What the kernel has from this process; null after a start: the first render writes everything. */
    private PolicyRules.Rendered inKernel;
    private volatile boolean connected;
    private final AtomicLong applied = new AtomicLong();

    public PolicyWatcher(ControllerClient controller, AddressBook addresses, LeaseKeeper keeper, Iptables iptables,
            boolean logDenied) {
        this.controller = controller;
        this.addresses = addresses;
        this.keeper = keeper;
        this.iptables = iptables;
        this.logDenied = logDenied;
    }

    public boolean connected() {
        return connected;
    }

    public long rulesApplied() {
        return applied.get();
    }

    /** Sets up the hooks; a cell with no silk rules yet starts from default deny. */
    public void prepare() {
        boolean fresh = !iptables.save("filter").contains(":" + PolicyRules.FORWARD_CHAIN + " ");
        iptables.ensureHooks();
        synchronized (this) {
            freshCell = fresh;
        }
        render();
    }

    private Set<String> localApps() {
        Set<String> apps = new TreeSet<>();
        for (AddressBook.Attachment a : addresses.all()) {
            if (!a.appId().isEmpty()) {
                apps.add(a.appId());
            }
        }
        return apps;
    }

    /** Containers came or went: new rules now; a new watch if the set of apps changed. */
    public synchronized void containersChanged() {
        render();
        if (!localApps().equals(watchedApps) && call != null) {
            call.cancel("the cell's apps changed", null);
        }
    }

    public void watchLoop() {
        long backoff = 200;
        for (int attempt = 0; !Thread.currentThread().isInterrupted(); attempt++) {
            CountDownLatch ended = new CountDownLatch(1);
            PolicyWatchRequest request;
            synchronized (this) {
                Set<String> apps = localApps();
                if (!apps.equals(watchedApps)) {
                    revision = 0; // another set of apps: start from a snapshot
                }
                watchedApps = apps;
                request = PolicyWatchRequest.newBuilder().addAllAppIds(apps).setFromRevision(revision).build();
            }
            long before = applied.get();
            PolicyServiceGrpc.newStub(controller.channel(attempt)).watch(request,
                    new ClientResponseObserver<PolicyWatchRequest, PolicyWatchResponse>() {
                        @Override
                        public void beforeStart(ClientCallStreamObserver<PolicyWatchRequest> s) {
                            synchronized (PolicyWatcher.this) {
                                call = s;
                            }
                        }

                        @Override
                        public void onNext(PolicyWatchResponse r) {
                            connected = true;
                            apply(r);
                        }

                        @Override
                        public void onError(Throwable t) {
                            connected = false;
                            ended.countDown();
                        }

                        @Override
                        public void onCompleted() {
                            connected = false;
                            ended.countDown();
                        }
                    });
            try {
                ended.await();
                if (applied.get() > before) {
                    backoff = 200;
                }
                Thread.sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                backoff = Math.min(backoff * 2, 5000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    synchronized void apply(PolicyWatchResponse r) {
        if (r.getReset()) {
            c2c.clear();
            egress.clear();
            r.getPoliciesList().forEach(p -> c2c.put(p.getId(), p));
            r.getEgressPoliciesList().forEach(p -> egress.put(p.getId(), p));
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
            }
        }
        revision = Math.max(revision, r.getRevision());
        if (r.getReset() || r.getChangesCount() > 0) {
            render();
        }
        applied.incrementAndGet();
    }

    /** Re-renders and replaces the silk chains; only once the cell has a lease and knows its policies. */
    private synchronized void render() {
        HeldLease lease = keeper.lease();
        // After a restart the kernel's rules stand until the first snapshot: rendering from an
        // empty policy set would cut connections that stay allowed.
        if (lease == null || (!synced && !freshCell)) {
            return;
        }
        List<PolicyRules.LocalContainer> containers = addresses.all().stream()
                .map(a -> new PolicyRules.LocalContainer(a.ip(), a.appId())).toList();
        long t0 = System.nanoTime();
        PolicyRules.Rendered now = PolicyRules.render(new PolicyRules.Inputs(lease.subnet(), lease.overlayNetwork(), containers,
                synced ? List.copyOf(c2c.values()) : List.of(), synced ? List.copyOf(egress.values()) : List.of(), logDenied));
        String changes = now.diff(inKernel);
        if (!changes.isEmpty()) {
            iptables.restore(changes);
        }
        iptables.drop(now.dropped(inKernel));
        inKernel = now;
        log.debug("policy rules applied c2c={} egress={} containers={} ms={}", c2c.size(), egress.size(), containers.size(),
                (System.nanoTime() - t0) / 1_000_000);
    }
}
