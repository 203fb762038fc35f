package io.silk.controller.watch;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.silk.controller.lease.LeaseEventRecord;
import io.silk.controller.lease.LeaseView;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.WatchResponse;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Watch call: a subscriber to the change feed with its own queue, drained as gRPC flow control
 * allows. A client too slow to keep up is cut off with the revision to resume from, rather than
 * letting its backlog grow without bound.
 */
public final class WatchStream implements LeaseFeedSubscriber {

    private final ServerCallStreamObserver<WatchResponse> out;
    private final LeaseChangeFeed feed;
    private final int queueLimit;
    private final ConcurrentLinkedQueue<WatchResponse> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger draining = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set when the client must be cut off; delivered by the drainer, the only thread that writes. */
    private volatile Status failure;
    /** The last revision queued for the client; events at or below it are not sent again. */
    private volatile long position;
    private volatile long sentRevision;

    public WatchStream(ServerCallStreamObserver<WatchResponse> out, LeaseChangeFeed feed, int queueLimit) {
        this.out = out;
        this.feed = feed;
        this.queueLimit = queueLimit;
    }

    public void start(long fromRevision) {
        position = fromRevision;
        sentRevision = fromRevision;
        out.setOnCancelHandler(this::close);
        out.setOnReadyHandler(this::drain);
        feed.subscribe(fromRevision, this);
        if (queued.get() == 0) {
            // Nothing to catch up on: say so, so the client knows its stream is live and current.
            enqueue(WatchResponse.newBuilder().setRevision(position).build());
        }
        drain();
    }

    @Override
    public void reset(List<LeaseEventRecord> routable, long revision) {
        WatchResponse.Builder b = WatchResponse.newBuilder().setReset(true).setRevision(revision);
        for (LeaseEventRecord e : routable) {
            b.addLeases(lease(e));
        }
        position = revision;
        enqueue(b.build());
    }

    @Override
    public void events(List<LeaseEventRecord> events) {
        WatchResponse.Builder b = WatchResponse.newBuilder();
        long last = position;
        for (LeaseEventRecord e : events) {
            if (e.revision() <= last) {
                continue;
            }
            b.addEvents(LeaseEvent.newBuilder().setKind(LeaseEvent.Kind.valueOf(e.kind()))
                    .setLease(lease(e)).setRevision(e.revision()));
            last = e.revision();
        }
        if (b.getEventsCount() == 0) {
            return;
        }
        position = last;
        enqueue(b.setRevision(last).build());
    }

    private void enqueue(WatchResponse response) {
        if (closed.get()) {
            return;
        }
        if (queued.incrementAndGet() > queueLimit) {
            failure = Status.UNAVAILABLE.withDescription("watch fell behind by more than " + queueLimit
                    + " messages; resume from revision " + sentRevision);
        } else {
            queue.add(response);
        }
        drain();
    }

    /** Sends while the transport is ready; one drainer at a time, never re-entrant. */
    private void drain() {
        if (draining.getAndIncrement() != 0) {
            return;
        }
        do {
            if (failure != null) {
                fail(failure);
            }
            while (!closed.get() && out.isReady()) {
                WatchResponse next = queue.poll();
                if (next == null) {
                    break;
                }
                queued.decrementAndGet();
                try {
                    out.onNext(next);
                    sentRevision = next.getRevision();
                } catch (RuntimeException e) {
                    close();
                    return;
                }
            }
        } while (draining.decrementAndGet() != 0);
    }

    private void fail(Status status) {
        if (closed.compareAndSet(false, true)) {
            feed.unsubscribe(this);
            queue.clear();
            try {
                out.onError(status.asRuntimeException());
            } catch (RuntimeException ignored) {
                // The call is already gone.
            }
        }
    }

    private void close() {
        if (closed.compareAndSet(false, true)) {
            feed.unsubscribe(this);
            queue.clear();
        }
    }

    private static Lease lease(LeaseEventRecord e) {
        return LeaseView.of(e).toProto();
    }
}
