package io.silk.controller.watch;

import io.grpc.stub.ServerCallStreamObserver;
import io.silk.controller.feed.StreamOutbox;
import io.silk.controller.lease.LeaseEventRecord;
import io.silk.controller.lease.LeaseView;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.WatchResponse;
import java.util.List;

/** One lease Watch call: a subscriber to the change feed, sending through a flow-controlled outbox. */
public final class WatchStream implements LeaseFeedSubscriber {

    private final LeaseChangeFeed feed;
    private final SnapshotMessages snapshots;
    private final StreamOutbox<WatchResponse> outbox;
    /** The last revision queued for the client; events at or below it are not sent again. */
    private volatile long position;
    /** Set once a snapshot or a backlog was queued: then no "you are current" message is needed. */
    private volatile boolean caughtUpSent;

    public WatchStream(ServerCallStreamObserver<WatchResponse> out, LeaseChangeFeed feed, SnapshotMessages snapshots,
            int queueLimit, long fromRevision) {
        this.feed = feed;
        this.snapshots = snapshots;
        this.position = fromRevision;
        this.outbox = new StreamOutbox<>(out, queueLimit, fromRevision, WatchResponse::getRevision, () -> feed.unsubscribe(this));
    }

    public void start() {
        feed.subscribe(position, this);
        if (!caughtUpSent) {
            // Nothing to catch up on: say so, so the client knows its stream is live and current.
            outbox.send(WatchResponse.newBuilder().setRevision(position).build());
        }
        outbox.drain();
    }

    @Override
    public void reset(List<LeaseEventRecord> routable, long revision) {
        position = revision;
        caughtUpSent = true;
        outbox.send(snapshots.reset(routable, revision));
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
                    .setLease(LeaseView.of(e).toProto()).setRevision(e.revision()));
            last = e.revision();
        }
        if (b.getEventsCount() == 0) {
            return;
        }
        position = last;
        caughtUpSent = true;
        outbox.send(b.setRevision(last).build());
    }
}
