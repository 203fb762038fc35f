package io.silk.controller.feed;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;

/**
 * The sending side of one server stream: a queue drained as gRPC flow control allows, by one
 * thread at a time. A client too slow to keep up is cut off with the revision to resume from,
 * rather than letting its backlog grow without bound.
 *
 * @param <T> the response message
 */
public final class StreamOutbox<T> {

    private final ServerCallStreamObserver<T> out;
    private final int limit;
    private final ToLongFunction<T> revisionOf;
    private final Runnable onClose;
    private final ConcurrentLinkedQueue<T> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger draining = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set when the client must be cut off; delivered by the drainer, the only thread that writes. */
    private volatile Status failure;
    private volatile long sentRevision;

    public StreamOutbox(ServerCallStreamObserver<T> out, int limit, long fromRevision, ToLongFunction<T> revisionOf,
            Runnable onClose) {
        this.out = out;
        this.limit = limit;
        this.revisionOf = revisionOf;
        this.onClose = onClose;
        this.sentRevision = fromRevision;
        out.setOnCancelHandler(this::close);
        out.setOnReadyHandler(this::drain);
    }

    public void send(T message) {
        if (closed.get()) {
            return;
        }
        if (queued.incrementAndGet() > limit) {
            failure = Status.UNAVAILABLE.withDescription("watch fell behind by more than " + limit
                    + " messages; resume from revision " + sentRevision);
        } else {
            queue.add(message);
        }
        drain();
    }

    /** Sends while the transport is ready; one drainer at a time, never re-entrant. */
    public void drain() {
        if (draining.getAndIncrement() != 0) {
            return;
        }
        do {
            if (failure != null) {
                failNow(failure);
            }
            while (!closed.get() && out.isReady()) {
                T next = queue.poll();
                if (next == null) {
                    break;
                }
                queued.decrementAndGet();
                try {
                    out.onNext(next);
                    sentRevision = revisionOf.applyAsLong(next);
                } catch (RuntimeException e) {
                    close();
                    return;
                }
            }
        } while (draining.decrementAndGet() != 0);
    }

    /** Ends the stream with this status (from any thread); the drainer delivers it. */
    public void fail(Status status) {
        failure = status;
        drain();
    }

    private void failNow(Status status) {
        if (closed.compareAndSet(false, true)) {
            onClose.run();
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
            onClose.run();
            queue.clear();
        }
    }
}
