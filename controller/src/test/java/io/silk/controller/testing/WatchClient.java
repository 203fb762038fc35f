package io.silk.controller.testing;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A watching client as a cell daemon would be: applies snapshots and events to a map, remembers
 * its revision, and resumes from it on another channel when its stream breaks. Records every
 * event it applied so tests can check for loss and duplication.
 */
public final class WatchClient {

    private final Map<String, Lease> routable = new HashMap<>();
    private final List<LeaseEvent> applied = new ArrayList<>();
    private final List<WatchResponse> responses = new ArrayList<>();
    private long revision;
    private String databaseId = "";
    private Status ended;
    private ClientCallStreamObserver<WatchRequest> call;

    /** Watches from the revision (and database) reached so far, as a daemon resumes. */
    public synchronized void watch(ManagedChannel channel) {
        watchFrom(channel, revision, databaseId);
    }

    /** Watches from any revision and database, as a daemon with that state would. */
    public synchronized void watchFrom(ManagedChannel channel, long fromRevision, String fromDatabaseId) {
        ended = null;
        established = false;
        LeaseServiceGrpc.newStub(channel).watch(WatchRequest.newBuilder().setFromRevision(fromRevision)
                        .setDatabaseId(fromDatabaseId).build(),
                new ClientResponseObserver<WatchRequest, WatchResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
                        call = requestStream;
                    }

                    @Override
                    public void onNext(WatchResponse r) {
                        apply(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        ended(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        ended(Status.OK);
                    }
                });
    }

    private boolean established;

    private synchronized void apply(WatchResponse r) {
        responses.add(r);
        established = true;
        if (!r.getDatabaseId().isEmpty()) {
            databaseId = r.getDatabaseId();
        }
        if (r.getReset()) {
            // A snapshot replaces everything, its revision too (lower, when the database was replaced).
            revision = r.getRevision();
            routable.clear();
            r.getLeasesList().forEach(l -> routable.put(l.getUnderlayIp(), l));
        }
        for (LeaseEvent e : r.getEventsList()) {
            if (e.getRevision() <= revision) {
                throw new AssertionError("event at revision " + e.getRevision() + " after " + revision);
            }
            applied.add(e);
            if (e.getKind() == LeaseEvent.Kind.UPSERTED) {
                routable.put(e.getLease().getUnderlayIp(), e.getLease());
            } else {
                routable.remove(e.getLease().getUnderlayIp());
            }
            revision = e.getRevision();
        }
        revision = Math.max(revision, r.getRevision());
        notifyAll();
    }

    private synchronized void ended(Status status) {
        ended = status;
        notifyAll();
    }

    public synchronized void cancel() {
        if (call != null) {
            call.cancel("test done", null);
        }
    }

    /** Waits until the condition holds on the routable map; fails with the state otherwise. */
    public synchronized void awaitRoutable(Predicate<Map<String, Lease>> condition, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.test(routable)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("watch state never matched; revision=" + revision + " routable="
                        + routable.keySet() + " ended=" + ended);
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    /** The stream's end, if it ended: null while it is open. */
    public synchronized Status ended() {
        return ended;
    }

    public synchronized Status awaitEnd(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ended == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("stream did not end");
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return ended;
    }

    /**
     * Waits for the stream's first message: from then on the server has subscribed this stream,
     * and every later write reaches it. A test that writes before this races the subscription.
     */
    public synchronized void awaitEstablished(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!established) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("watch stream not established; ended=" + ended);
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    public synchronized String databaseId() {
        return databaseId;
    }

    public synchronized Map<String, Lease> routable() {
        return new HashMap<>(routable);
    }

    public synchronized List<LeaseEvent> applied() {
        return new ArrayList<>(applied);
    }

    public synchronized List<WatchResponse> responses() {
        return new ArrayList<>(responses);
    }

    public synchronized long revision() {
        return revision;
    }
}
