package io.silk.controller.watch;

import io.silk.controller.lease.LeaseEventRecord;
import java.util.List;

/**
 * Receives the change feed. Called with the feed's lock held, in revision order: implementations
 * must only queue, never block.
 */
public interface LeaseFeedSubscriber {

    /** Replace everything known with these routable leases, as of {@code revision}. */
    void reset(List<LeaseEventRecord> routable, long revision);

    /** Apply these changes; the last one's revision is the new position. */
    void events(List<LeaseEventRecord> events);
}
