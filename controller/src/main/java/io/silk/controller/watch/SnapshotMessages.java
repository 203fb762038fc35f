package io.silk.controller.watch;

import io.silk.controller.lease.LeaseEventRecord;
import io.silk.controller.lease.LeaseView;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.WatchResponse;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * The snapshot of routable leases as protobuf, built once per revision and shared by every
 * watch that starts from it and by List. When thousands of cells restart at once, each would
 * otherwise build its own copy of every lease: the storm's main cost after TLS.
 */
@Component
public class SnapshotMessages {

    private record Built(long revision, List<Lease> leases, WatchResponse reset) {}

    private volatile Built last;

    /** Every routable lease as of {@code revision}; {@code routable} must be the feed's view at that revision. */
    public List<Lease> leases(List<LeaseEventRecord> routable, long revision) {
        return built(routable, revision).leases();
    }

    /** The reset message a watch starting at {@code revision} gets; immutable, so shared. */
    public WatchResponse reset(List<LeaseEventRecord> routable, long revision) {
        return built(routable, revision).reset();
    }

    private Built built(List<LeaseEventRecord> routable, long revision) {
        Built b = last;
        if (b != null && b.revision() == revision) {
            return b;
        }
        synchronized (this) {
            b = last;
            if (b != null && b.revision() == revision) {
                return b;
            }
            List<Lease> leases = routable.stream().map(e -> LeaseView.of(e).toProto()).toList();
            b = new Built(revision, leases,
                    WatchResponse.newBuilder().setReset(true).setRevision(revision).addAllLeases(leases).build());
            last = b;
            return b;
        }
    }
}
