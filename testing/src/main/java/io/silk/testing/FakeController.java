package io.silk.testing;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.AcquireResponse;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ListResponse;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.ReleaseResponse;
import io.silk.proto.v1.RenewRequest;
import io.silk.proto.v1.RenewResponse;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import io.silk.values.Ipv4Network;
import io.silk.values.SilkMacs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A controller for cell-daemon tests: the lease and policy services of {@code proto/}, served over
 * plaintext gRPC on a loopback port, with the contract's behaviour (idempotent acquire, renew that
 * re-inserts a free subnet, snapshots then deltas, a database identity on every stream) and
 * scriptable misbehaviour: refuse renews with a status, be unreachable, lose a cell's lease to
 * another cell, lose the whole database. Every request is recorded.
 *
 * <p>Not the real controller (no PostgreSQL, no replicas): the daemon's side of the contract is
 * what it is for.
 */
public final class FakeController implements AutoCloseable {

    private final Ipv4Network network;
    private final int subnetPrefix;
    private final int port;
    private Server server;

    // Guarded by this.
    private String databaseId = UUID.randomUUID().toString();
    private long revision;
    private final Map<String, Lease> leases = new LinkedHashMap<>();
    private final List<LeaseEvent> leaseHistory = new ArrayList<>();
    private final Map<Long, C2CPolicy> c2c = new LinkedHashMap<>();
    private final Map<Long, EgressPolicy> egress = new LinkedHashMap<>();
    private final List<PolicyChange> policyHistory = new ArrayList<>();
    private long policyRevision;
    private long nextPolicyId = 1;
    private Status renewRefusal;
    private final List<LeaseStream> leaseStreams = new ArrayList<>();
    private final List<PolicyStream> policyStreams = new ArrayList<>();

    private final List<String> calls = new CopyOnWriteArrayList<>();
    private final List<WatchRequest> leaseWatches = new CopyOnWriteArrayList<>();
    private final List<RenewRequest> renews = new CopyOnWriteArrayList<>();
    private final List<PolicyWatchRequest> policyWatches = new CopyOnWriteArrayList<>();

    private record LeaseStream(ServerCallStreamObserver<WatchResponse> out) {}

    private record PolicyStream(Set<String> apps, ServerCallStreamObserver<PolicyWatchResponse> out) {}

    private FakeController(Ipv4Network network, int subnetPrefix) {
        this.network = network;
        this.subnetPrefix = subnetPrefix;
        this.server = serve(0);
        this.port = server.getPort();
    }

    /** A controller for the default overlay: 10.255.0.0/16 in /24 subnets. */
    public static FakeController start() {
        return start("10.255.0.0/16", 24);
    }

    public static FakeController start(String overlayNetwork, int subnetPrefix) {
        return new FakeController(Ipv4Network.parse(overlayNetwork, "overlay network"), subnetPrefix);
    }

    private Server serve(int onPort) {
        try {
            return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", onPort))
                    .addService(new Leases()).addService(new Policies()).build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("start the fake controller on 127.0.0.1:" + onPort, e);
        }
    }

    /** host:port to put in controller.addresses. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    public String overlayNetwork() {
        return network.toString();
    }

    // ---- scripting ------------------------------------------------------------------------------

    /** Every Renew from now on fails with this status (null: renew normally again). */
    public synchronized void refuseRenew(Status status) {
        this.renewRefusal = status;
    }

    /** Stops serving: connections are refused and open streams break, as when every replica is down. */
    public synchronized void unreachable() {
        if (server != null) {
            server.shutdownNow();
            awaitTermination(server);
            server = null;
            leaseStreams.clear();
            policyStreams.clear();
        }
    }

    /** Serves again, on the same port. */
    public synchronized void reachable() {
        if (server == null) {
            server = serve(port);
        }
    }

    /** Breaks every open watch with this status (a replica went away); the controller stays up. */
    public synchronized void breakStreams(Status status) {
        leaseStreams.forEach(s -> s.out().onError(status.asRuntimeException()));
        policyStreams.forEach(s -> s.out().onError(status.asRuntimeException()));
        leaseStreams.clear();
        policyStreams.clear();
    }

    /** The cell's subnet now belongs to {@code thief}: the cell's next renew is a mismatch. */
    public synchronized void giveLeaseTo(String underlayIp, String thief) {
        Lease held = leases.remove(underlayIp);
        if (held == null) {
            throw new IllegalStateException(underlayIp + " holds no lease");
        }
        leaseEvent(LeaseEvent.Kind.DELETED, held);
        Lease stolen = held.toBuilder().setUnderlayIp(thief).build();
        leases.put(thief, stolen);
        leaseEvent(LeaseEvent.Kind.UPSERTED, stolen);
    }

    /** Another cell holds {@code subnet} (watchers see it come). */
    public synchronized Lease putLease(String underlayIp, String subnet) {
        Ipv4Network s = Ipv4Network.parse(subnet, "subnet");
        Lease l = Lease.newBuilder().setUnderlayIp(underlayIp).setOverlaySubnet(s.toString())
                .setOverlayHardwareAddr(SilkMacs.vtep(s).toString()).build();
        leases.put(underlayIp, l);
        leaseEvent(LeaseEvent.Kind.UPSERTED, l);
        return l;
    }

    /** The cell's lease goes away (released or reclaimed; watchers see it go). */
    public synchronized void removeLease(String underlayIp) {
        Lease gone = leases.remove(underlayIp);
        if (gone != null) {
            leaseEvent(LeaseEvent.Kind.DELETED, gone);
        }
    }

    /**
     * The database was lost and created anew: another database id, revisions from 0 again, and only
     * the given leases (open streams break, as the replicas restart).
     */
    public synchronized void newDatabase(Map<String, String> subnetByCell) {
        breakStreams(Status.UNAVAILABLE.withDescription("database replaced"));
        databaseId = UUID.randomUUID().toString();
        revision = 0;
        policyRevision = 0;
        leases.clear();
        leaseHistory.clear();
        c2c.clear();
        egress.clear();
        policyHistory.clear();
        subnetByCell.forEach(this::putLease);
    }

    public synchronized String databaseId() {
        return databaseId;
    }

    /** The lease log's revision. */
    public synchronized long revision() {
        return revision;
    }

    public synchronized Map<String, Lease> leases() {
        return Map.copyOf(leases);
    }

    /** Adds an app-to-app policy; returns it with its id. */
    public synchronized C2CPolicy addPolicy(C2CPolicy p) {
        C2CPolicy withId = p.toBuilder().setId(nextPolicyId++).build();
        c2c.put(withId.getId(), withId);
        policyChange(PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED).setC2C(withId));
        return withId;
    }

    public synchronized void removePolicy(long id) {
        C2CPolicy gone = c2c.remove(id);
        if (gone != null) {
            policyChange(PolicyChange.newBuilder().setKind(PolicyChange.Kind.DELETED).setC2C(gone));
        }
    }

    /** Calls as "Acquire 10.0.0.5", "Renew 10.0.0.5 10.255.3.0/24", "Release 10.0.0.5", "List". */
    public List<String> calls() {
        return List.copyOf(calls);
    }

    /** Every Renew as it came (the database id the cell named included). */
    public List<RenewRequest> renews() {
        return List.copyOf(renews);
    }

    public List<WatchRequest> leaseWatches() {
        return List.copyOf(leaseWatches);
    }

    public List<PolicyWatchRequest> policyWatches() {
        return List.copyOf(policyWatches);
    }

    public synchronized int openLeaseWatches() {
        leaseStreams.removeIf(s -> s.out().isCancelled());
        return leaseStreams.size();
    }

    public synchronized int openPolicyWatches() {
        policyStreams.removeIf(s -> s.out().isCancelled());
        return policyStreams.size();
    }

    @Override
    public synchronized void close() {
        unreachable();
    }

    // ---- the lease service ----------------------------------------------------------------------

    private void leaseEvent(LeaseEvent.Kind kind, Lease l) {
        revision++;
        Lease stamped = l.toBuilder().setRevision(revision).build();
        if (kind == LeaseEvent.Kind.UPSERTED) {
            leases.put(l.getUnderlayIp(), stamped);
        }
        LeaseEvent e = LeaseEvent.newBuilder().setKind(kind).setLease(stamped).setRevision(revision).build();
        leaseHistory.add(e);
        WatchResponse message = WatchResponse.newBuilder().addEvents(e).setRevision(revision).build();
        leaseStreams.removeIf(s -> s.out().isCancelled());
        leaseStreams.forEach(s -> s.out().onNext(message));
    }

    private Ipv4Network subnet(int index) {
        return new Ipv4Network(network.base().plus(index << (32 - subnetPrefix)), subnetPrefix);
    }

    private final class Leases extends LeaseServiceGrpc.LeaseServiceImplBase {
        @Override
        public void acquire(AcquireRequest request, StreamObserver<AcquireResponse> out) {
            calls.add("Acquire " + request.getUnderlayIp());
            Lease l;
            synchronized (FakeController.this) {
                l = leases.get(request.getUnderlayIp());
                if (l == null) {
                    Set<String> taken = new HashSet<>();
                    leases.values().forEach(x -> taken.add(x.getOverlaySubnet()));
                    int count = 1 << (subnetPrefix - network.prefix());
                    Ipv4Network free = null;
                    for (int i = 1; i < count && free == null; i++) { // subnet 0 is never offered
                        if (!taken.contains(subnet(i).toString())) {
                            free = subnet(i);
                        }
                    }
                    if (free == null) {
                        out.onError(Status.RESOURCE_EXHAUSTED.withDescription("no free subnet").asRuntimeException());
                        return;
                    }
                    l = putLease(request.getUnderlayIp(), free.toString());
                }
            }
            out.onNext(AcquireResponse.newBuilder().setLease(l).setOverlayNetwork(network.toString()).setDatabaseId(databaseId()).build());
            out.onCompleted();
        }

        @Override
        public void renew(RenewRequest request, StreamObserver<RenewResponse> out) {
            Lease asked = request.getLease();
            calls.add("Renew " + asked.getUnderlayIp() + " " + asked.getOverlaySubnet());
            renews.add(request);
            Lease l;
            synchronized (FakeController.this) {
                if (renewRefusal != null) {
                    out.onError(renewRefusal.asRuntimeException());
                    return;
                }
                Lease held = leases.get(asked.getUnderlayIp());
                if (held != null && !held.getOverlaySubnet().equals(asked.getOverlaySubnet())) {
                    out.onError(Status.FAILED_PRECONDITION.withDescription("the cell holds " + held.getOverlaySubnet()
                            + ", not " + asked.getOverlaySubnet()).asRuntimeException());
                    return;
                }
                if (held == null) {
                    Ipv4Network s;
                    try {
                        s = Ipv4Network.parse(asked.getOverlaySubnet(), "overlay_subnet");
                    } catch (IllegalArgumentException e) {
                        out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                        return;
                    }
                    if (s.prefix() != subnetPrefix || !network.contains(s) || s.base().equals(network.base())) {
                        out.onError(Status.INVALID_ARGUMENT.withDescription(s + " is not a subnet the pool offers (/"
                                + subnetPrefix + " in " + network + ")").asRuntimeException());
                        return;
                    }
                    Predicate<Lease> sameSubnet = x -> x.getOverlaySubnet().equals(s.toString());
                    var other = leases.values().stream().filter(sameSubnet).findFirst();
                    if (other.isPresent()) {
                        out.onError(Status.FAILED_PRECONDITION.withDescription(s + " is held by "
                                + other.get().getUnderlayIp()).asRuntimeException());
                        return;
                    }
                    held = putLease(asked.getUnderlayIp(), s.toString());
                }
                l = held;
            }
            out.onNext(RenewResponse.newBuilder().setLease(l).setOverlayNetwork(network.toString()).setDatabaseId(databaseId()).build());
            out.onCompleted();
        }

        @Override
        public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> out) {
            calls.add("Release " + request.getUnderlayIp());
            boolean released;
            synchronized (FakeController.this) {
                released = leases.containsKey(request.getUnderlayIp());
                removeLease(request.getUnderlayIp());
            }
            out.onNext(ReleaseResponse.newBuilder().setReleased(released).build());
            out.onCompleted();
        }

        @Override
        public void list(ListRequest request, StreamObserver<ListResponse> out) {
            calls.add("List");
            ListResponse r;
            synchronized (FakeController.this) {
                r = ListResponse.newBuilder().addAllLeases(leases.values()).setRevision(revision)
                        .setOverlayNetwork(network.toString()).build();
            }
            out.onNext(r);
            out.onCompleted();
        }

        @Override
        public void watch(WatchRequest request, StreamObserver<WatchResponse> out) {
            leaseWatches.add(request);
            var stream = (ServerCallStreamObserver<WatchResponse>) out;
            synchronized (FakeController.this) {
                long from = request.getFromRevision();
                WatchResponse.Builder first = WatchResponse.newBuilder().setRevision(revision).setDatabaseId(databaseId);
                if (from == 0 || !request.getDatabaseId().equals(databaseId) || from > revision) {
                    first.setReset(true).addAllLeases(leases.values());
                } else {
                    leaseHistory.stream().filter(e -> e.getRevision() > from).forEach(first::addEvents);
                }
                stream.onNext(first.build());
                leaseStreams.add(new LeaseStream(stream));
            }
        }
    }

    // ---- the policy service ---------------------------------------------------------------------

    private static boolean concerns(PolicyChange ch, Set<String> apps) {
        return ch.hasC2C() ? concerns(ch.getC2C(), apps) : apps.contains(ch.getEgress().getSourceId());
    }

    private static boolean concerns(C2CPolicy p, Set<String> apps) {
        return apps.contains(p.getSourceId()) || apps.contains(p.getDestinationId());
    }

    private void policyChange(PolicyChange.Builder change) {
        policyRevision++;
        PolicyChange ch = change.setRevision(policyRevision).build();
        policyHistory.add(ch);
        policyStreams.removeIf(s -> s.out().isCancelled());
        for (PolicyStream s : policyStreams) {
            if (concerns(ch, s.apps())) {
                s.out().onNext(PolicyWatchResponse.newBuilder().addChanges(ch).setRevision(policyRevision).build());
            }
        }
    }

    private final class Policies extends PolicyServiceGrpc.PolicyServiceImplBase {
        @Override
        public void watch(PolicyWatchRequest request, StreamObserver<PolicyWatchResponse> out) {
            policyWatches.add(request);
            var stream = (ServerCallStreamObserver<PolicyWatchResponse>) out;
            Set<String> apps = Set.copyOf(request.getAppIdsList());
            synchronized (FakeController.this) {
                long from = request.getFromRevision();
                var first = PolicyWatchResponse.newBuilder().setRevision(policyRevision).setDatabaseId(databaseId);
                if (from == 0 || !request.getDatabaseId().equals(databaseId) || from > policyRevision) {
                    first.setReset(true);
                    c2c.values().stream().filter(p -> concerns(p, apps)).forEach(first::addPolicies);
                    egress.values().stream().filter(p -> apps.contains(p.getSourceId())).forEach(first::addEgressPolicies);
                } else {
                    policyHistory.stream().filter(c -> c.getRevision() > from && concerns(c, apps)).forEach(first::addChanges);
                }
                stream.onNext(first.build());
                policyStreams.add(new PolicyStream(apps, stream));
            }
        }
    }

    private static void awaitTermination(Server s) {
        try {
            s.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
