package io.silk.controller.lease;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.silk.controller.identity.CallerIdentity;
import io.silk.controller.watch.LeaseChangeFeed;
import io.silk.controller.watch.SnapshotMessages;
import io.silk.controller.watch.WatchStream;
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
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;

/** The silk.v1 LeaseService: authorisation, validation and status codes around the ledger. */
@Component
public class LeaseGrpcEndpoint extends LeaseServiceGrpc.LeaseServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(LeaseGrpcEndpoint.class);
    private static final long OUTAGE_LOG_INTERVAL_NANOS = 10_000_000_000L;
    private static volatile long lastOutageLog = System.nanoTime() - OUTAGE_LOG_INTERVAL_NANOS - 1;

    private final LeaseLedger ledger;
    private final LeaseChangeFeed feed;
    private final SnapshotMessages snapshots;
    private final int watchQueueLimit;

    public LeaseGrpcEndpoint(LeaseLedger ledger, LeaseChangeFeed feed, SnapshotMessages snapshots,
            @org.springframework.beans.factory.annotation.Value("${silk.controller.watch.queue-limit:10000}") int watchQueueLimit) {
        this.ledger = ledger;
        this.feed = feed;
        this.snapshots = snapshots;
        this.watchQueueLimit = watchQueueLimit;
    }

    @Override
    public void acquire(AcquireRequest request, StreamObserver<AcquireResponse> out) {
        unary(out, () -> {
            String cell = CallerIdentity.cellToActOn(request.getUnderlayIp(), "acquire lease");
            LeaseView lease = ledger.acquire(cell);
            return AcquireResponse.newBuilder().setLease(lease.toProto())
                    .setOverlayNetwork(ledger.pool().network().toString()).build();
        });
    }

    @Override
    public void renew(RenewRequest request, StreamObserver<RenewResponse> out) {
        unary(out, () -> {
            if (!request.hasLease()) {
                throw LeaseRejection.invalid("renew lease: the request carries no lease");
            }
            Lease l = request.getLease();
            String cell = CallerIdentity.cellToActOn(l.getUnderlayIp(), "renew lease");
            LeaseView lease = ledger.renew(cell, l.getOverlaySubnet(), l.getOverlayHardwareAddr());
            return RenewResponse.newBuilder().setLease(lease.toProto())
                    .setOverlayNetwork(ledger.pool().network().toString()).build();
        });
    }

    @Override
    public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> out) {
        unary(out, () -> {
            String cell = CallerIdentity.cellToActOn(request.getUnderlayIp(), "release lease");
            boolean released = ledger.release(cell);
            if (released) {
                log.info("lease released cell={}", cell);
            }
            return ReleaseResponse.newBuilder().setReleased(released).build();
        });
    }

    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> out) {
        unary(out, () -> {
            CallerIdentity.requireAuthenticated("list leases");
            return currentList();
        });
    }

    /** The List answer: the shared snapshot of the feed's current revision. */
    private ListResponse currentList() {
        var snapshot = feed.snapshot();
        return ListResponse.newBuilder().setRevision(snapshot.revision()).setOverlayNetwork(ledger.pool().network().toString())
                .addAllLeases(snapshots.leases(snapshot.leases(), snapshot.revision())).build();
    }

    @Override
    public void watch(WatchRequest request, StreamObserver<WatchResponse> out) {
        try {
            CallerIdentity.requireAuthenticated("watch leases");
            if (request.getFromRevision() < 0) {
                throw LeaseRejection.invalid("watch leases: from_revision " + request.getFromRevision() + " is negative");
            }
        } catch (LeaseRejection e) {
            out.onError(statusOf(e));
            return;
        }
        new WatchStream((ServerCallStreamObserver<WatchResponse>) out, feed, snapshots, watchQueueLimit, request.getFromRevision()).start();
    }

    private static <T> void unary(StreamObserver<T> out, Supplier<T> call) {
        T response;
        try {
            response = call.get();
        } catch (LeaseRejection e) {
            out.onError(statusOf(e));
            return;
        } catch (CannotCreateTransactionException | DataAccessResourceFailureException
                 | TransientDataAccessException | TransactionSystemException e) {
            long now = System.nanoTime();
            long last = lastOutageLog;
            if (now - last > OUTAGE_LOG_INTERVAL_NANOS) {
                lastOutageLog = now;
                log.warn("database unavailable, callers told to retry: {}", e.getMostSpecificCause().getMessage());
            }
            out.onError(Status.UNAVAILABLE.withDescription("database unavailable; retry with backoff ("
                    + e.getMostSpecificCause().getMessage() + ")").asRuntimeException());
            return;
        } catch (RuntimeException e) {
            log.error("lease call failed", e);
            out.onError(Status.INTERNAL.withDescription("internal error: " + e.getMessage()).asRuntimeException());
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }

    static StatusRuntimeException statusOf(LeaseRejection e) {
        Status status = switch (e.reason()) {
            case INVALID -> Status.INVALID_ARGUMENT;
            case MISMATCH -> Status.FAILED_PRECONDITION;
            case EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case FORBIDDEN -> Status.PERMISSION_DENIED;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
        };
        return status.withDescription(e.getMessage()).asRuntimeException();
    }
}
