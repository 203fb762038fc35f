package io.silk.controller.lease;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/** Expiry sweeps and event-log compaction, on every replica; the database keeps them single. */
@Component
public class LeaseHousekeeping {

    private static final Logger log = LoggerFactory.getLogger(LeaseHousekeeping.class);
    /** Superseded events younger than this stay, for watches resuming a little behind. */
    private static final double SUPERSEDED_KEEP_SECONDS = 3600;

    private final LeaseLedger ledger;
    private final SubnetPoolRepository pools;
    private final TransactionTemplate tx;
    private final LeaseProperties properties;
    private volatile boolean lastSweepFailed;

    public LeaseHousekeeping(LeaseLedger ledger, SubnetPoolRepository pools, TransactionTemplate tx,
            LeaseProperties properties) {
        this.ledger = ledger;
        this.pools = pools;
        this.tx = tx;
        this.properties = properties;
    }

    @Scheduled(fixedDelayString = "${silk.controller.lease.expiry-sweep-interval:5s}",
            initialDelayString = "${silk.controller.lease.expiry-sweep-interval:5s}")
    public void sweepExpired() {
        try {
            var expired = ledger.expireDue();
            for (var e : expired) {
                log.info("lease expired cell={} subnet={} revision={}", e.underlayIp(), e.subnet(), e.revision());
            }
            if (lastSweepFailed) {
                log.info("expiry sweep working again");
            }
            lastSweepFailed = false;
        } catch (DataAccessException e) {
            if (!lastSweepFailed) {
                log.warn("expiry sweep failed, will retry: {}", e.getMostSpecificCause().getMessage());
            }
            lastSweepFailed = true;
        }
    }

    @Scheduled(fixedDelayString = "${silk.controller.lease.compaction-interval:10m}",
            initialDelayString = "${silk.controller.lease.compaction-interval:10m}")
    public void compactEvents() {
        try {
            tx.executeWithoutResult(status -> {
                if (!pools.tryLockCompaction()) {
                    return;
                }
                int superseded = pools.dropSupersededEvents(SUPERSEDED_KEEP_SECONDS);
                int tombstones = pools.dropOldTombstones(properties.eventRetention().toSeconds());
                log.debug("event log compacted superseded={} tombstone_batches={}", superseded, tombstones);
            });
        } catch (DataAccessException e) {
            log.warn("event compaction failed, will retry: {}", e.getMostSpecificCause().getMessage());
        }
    }
}
