package io.silk.controller.lease;

import io.silk.controller.feed.ChangeFeed;
import io.silk.db.ChangeSignal;
import io.silk.proto.v1.Lease;
import io.silk.values.Ipv4Address;
import java.time.Duration;
import java.util.List;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.stereotype.Component;

/**
 * The routable leases as a caller who lists right after a write expects them: the shared snapshot
 * of the feed once it has applied every write committed before the call (on any replica). What
 * silk.v1's List and Silk's {@code GET /leases} both answer.
 */
@Component
public class RoutableLeases {

    /** It answers with what it has after this long without the feed catching up (the database is slow or away). */
    private static final Duration CATCH_UP = Duration.ofSeconds(2);

    /** The leases at a revision. */
    public record Listing(long revision, List<Lease> leases) {}

    private final ChangeFeed<Ipv4Address, LeaseEventRecord> feed;
    private final LeaseWatchMessages messages;
    private final ChangeSignal signal;

    public RoutableLeases(ChangeFeed<Ipv4Address, LeaseEventRecord> feed, LeaseWatchMessages messages,
            @Qualifier("leaseChangeSignal") ChangeSignal signal) {
        this.feed = feed;
        this.messages = messages;
        this.signal = signal;
    }

    public Listing afterNow() {
        signal.changed();
        feed.awaitCatchUpAfterNow(CATCH_UP);
        var snapshot = feed.snapshot(ChangeFeed.ALL);
        return new Listing(snapshot.revision(), messages.leases(snapshot.things(), snapshot.revision(), snapshot.databaseId()));
    }
}
