package io.silk.controller.lease;

import io.silk.controller.feed.WatchSession;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.WatchResponse;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * Lease Watch messages. The snapshot is built once per revision and shared by every watch that
 * starts from it and by List: when thousands of cells restart at once, each would otherwise build
 * its own copy of every lease, the storm's main cost after TLS.
 */
@Component
public class LeaseWatchMessages implements WatchSession.Messages<LeaseEventRecord, WatchResponse> {

    private record Built(long revision, String databaseId, List<Lease> leases, WatchResponse reset) {}

    private volatile Built last;

    /** Every routable lease as of {@code revision}; {@code routable} must be the feed's view at that revision. */
    public List<Lease> leases(List<LeaseEventRecord> routable, long revision, String databaseId) {
        return built(routable, revision, databaseId).leases();
    }

    @Override
    public WatchResponse reset(List<LeaseEventRecord> current, long revision, String databaseId) {
        return built(current, revision, databaseId).reset();
    }

    @Override
    public WatchResponse changes(List<LeaseEventRecord> events, long revision, String databaseId) {
        WatchResponse.Builder b = WatchResponse.newBuilder().setRevision(revision).setDatabaseId(databaseId);
        for (LeaseEventRecord e : events) {
            b.addEvents(LeaseEvent.newBuilder().setKind(LeaseEvent.Kind.valueOf(e.kind().name()))
                    .setLease(e.toProto()).setRevision(e.revision()));
        }
        return b.build();
    }

    @Override
    public WatchResponse current(long revision, String databaseId) {
        return WatchResponse.newBuilder().setRevision(revision).setDatabaseId(databaseId).build();
    }

    @Override
    public long revisionOf(WatchResponse message) {
        return message.getRevision();
    }

    private Built built(List<LeaseEventRecord> routable, long revision, String databaseId) {
        Built b = last;
        if (b != null && b.revision() == revision && b.databaseId().equals(databaseId)) {
            return b;
        }
        synchronized (this) {
            b = last;
            if (b != null && b.revision() == revision && b.databaseId().equals(databaseId)) {
                return b;
            }
            List<Lease> leases = routable.stream().map(LeaseEventRecord::toProto).toList();
            b = new Built(revision, databaseId, leases, WatchResponse.newBuilder().setReset(true).setRevision(revision)
                    .setDatabaseId(databaseId).addAllLeases(leases).build());
            last = b;
            return b;
        }
    }
}
