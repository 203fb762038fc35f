package io.silk.controller.lease;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.silk.controller.feed.ChangeFeed;
import io.silk.controller.feed.EventLogProperties;
import io.silk.controller.feed.WatchSession;
import io.silk.controller.grpc.Refusal;
import io.silk.controller.identity.CallerIdentity;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.AcquireResponse;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ListResponse;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.ReleaseResponse;
import io.silk.proto.v1.RenewRequest;
import io.silk.proto.v1.RenewResponse;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The silk.v1 LeaseService: who may act on which lease, input parsed into values, and the ledger
 * and the feed behind. What a call throws becomes its status in {@link StatusMapping}.
 */
@Component
public class LeaseGrpcEndpoint extends LeaseServiceGrpc.LeaseServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(LeaseGrpcEndpoint.class);

    private final LeaseLedger ledger;
    private final RoutableLeases routable;
    private final ChangeFeed<Ipv4Address, LeaseEventRecord> feed;
    private final LeaseWatchMessages messages;
    private final int watchQueueLimit;
    private final AllocationFence fence;

    public LeaseGrpcEndpoint(LeaseLedger ledger, ChangeFeed<Ipv4Address, LeaseEventRecord> feed, LeaseWatchMessages messages,
            RoutableLeases routable, EventLogProperties properties, AllocationFence fence) {
        this.ledger = ledger;
        this.fence = fence;
        this.routable = routable;
        this.feed = feed;
        this.messages = messages;
        this.watchQueueLimit = properties.watchQueueLimit();
    }

    @Override
    public void acquire(AcquireRequest request, StreamObserver<AcquireResponse> out) {
        Ipv4Address cell = cell(request.getUnderlayIp(), "acquire lease");
        LeaseRecord lease = ledger.acquire(cell);
        out.onNext(AcquireResponse.newBuilder().setLease(lease.toProto())
                .setOverlayNetwork(ledger.pool().network().toString()).setDatabaseId(databaseId()).build());
        out.onCompleted();
    }

    @Override
    public void renew(RenewRequest request, StreamObserver<RenewResponse> out) {
        if (!request.hasLease()) {
            throw Refusal.invalid("renew lease: the request carries no lease");
        }
        Lease l = request.getLease();
        Ipv4Address cell = cell(l.getUnderlayIp(), "renew lease");
        // Before the renew: a lease from another database means others may be missing here too.
        fence.cellNames(request.getDatabaseId(), feed.databaseId(), "cell " + cell);
        LeaseRecord lease = ledger.renew(cell, l.getOverlaySubnet(), l.getOverlayHardwareAddr());
        out.onNext(RenewResponse.newBuilder().setLease(lease.toProto())
                .setOverlayNetwork(ledger.pool().network().toString()).setDatabaseId(databaseId()).build());
        out.onCompleted();
    }

    @Override
    public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> out) {
        Ipv4Address cell = cell(request.getUnderlayIp(), "release lease");
        boolean released = ledger.release(cell);
        if (released) {
            log.atInfo().setMessage("lease released").addKeyValue("cell", cell).log();
        }
        out.onNext(ReleaseResponse.newBuilder().setReleased(released).build());
        out.onCompleted();
    }

    /** The routable leases, with every write committed before the call: an operator who lists right after an acquire sees the lease. */
    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> out) {
        CallerIdentity.requireAuthenticated("list leases");
        RoutableLeases.Listing now = routable.afterNow();
        out.onNext(ListResponse.newBuilder().setRevision(now.revision())
                .setOverlayNetwork(ledger.pool().network().toString()).addAllLeases(now.leases()).build());
        out.onCompleted();
    }

    @Override
    public void watch(WatchRequest request, StreamObserver<WatchResponse> out) {
        CallerIdentity.requireAuthenticated("watch leases");
        if (request.getFromRevision() < 0) {
            throw Refusal.invalid("watch leases: from_revision " + request.getFromRevision() + " is negative");
        }
        String who = CallerIdentity.describe() + " (watching)";
        fence.cellNames(request.getDatabaseId(), feed.databaseId(), who);
        if (request.getDatabaseId().equals(feed.databaseId())) {
            fence.cellResumesAt(request.getFromRevision(), feed.revision(), feed.databaseId(), who);
        }
        new WatchSession<>((ServerCallStreamObserver<WatchResponse>) out, feed, ChangeFeed.ALL, messages, watchQueueLimit,
                request.getFromRevision()).start(request.getDatabaseId());
    }

    /** The identity of the database the feed reads ("" before it has read one). */
    private String databaseId() {
        String id = feed.databaseId();
        return id == null ? "" : id;
    }

    /** The cell the caller may act on, parsed: "acquire lease: underlay_ip \"10.0.0\" is not an IPv4 address". */
    private static Ipv4Address cell(String requested, String action) {
        String text = CallerIdentity.cellToActOn(requested, action);
        try {
            return Ipv4Address.parse(text, "underlay_ip");
        } catch (BadValue e) {
            throw Refusal.invalid(action + ": " + e.getMessage());
        }
    }
}
