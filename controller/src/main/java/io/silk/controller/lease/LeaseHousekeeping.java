package io.silk.controller.lease;

import io.silk.controller.database.DatabaseReadiness;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.transaction.TransactionException;
import org.springframework.stereotype.Component;

/**
 * The expiry sweep, on every replica (the database keeps each expiry single). While the database
 * is away it logs one line when the sweep starts failing and one when it works again.
 */
@Component
public class LeaseHousekeeping implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(LeaseHousekeeping.class);

    private final LeaseLedger ledger;
    private final DatabaseReadiness readiness;
    private final TaskScheduler scheduler;
    private final LeaseProperties properties;
    private volatile boolean lastSweepFailed;

    public LeaseHousekeeping(LeaseLedger ledger, DatabaseReadiness readiness, TaskScheduler scheduler, LeaseProperties properties) {
        this.ledger = ledger;
        this.readiness = readiness;
        this.scheduler = scheduler;
        this.properties = properties;
    }

    @Override
    public void afterSingletonsInstantiated() {
        scheduler.scheduleWithFixedDelay(this::sweepExpired,
                java.time.Instant.now().plus(properties.expirySweepInterval()), properties.expirySweepInterval());
    }

    public void sweepExpired() {
        if (!readiness.ready()) {
            return;
        }
        try {
            List<LeaseRecord> expired;
            do {
                expired = ledger.expireDue();
                for (LeaseRecord e : expired) {
                    log.atInfo().setMessage("lease expired").addKeyValue("cell", e.cell()).addKeyValue("subnet", e.subnet())
                            .addKeyValue("revision", e.revision()).log();
                }
            } while (expired.size() >= 1000);
            if (lastSweepFailed) {
                log.atInfo().setMessage("expiry sweep working again").log();
            }
            lastSweepFailed = false;
        } catch (DataAccessException | TransactionException e) {
            if (!lastSweepFailed) {
                log.atWarn().setMessage("expiry sweep failed, will retry")
                        .addKeyValue("error", String.valueOf(e.getMostSpecificCause().getMessage())).log();
            }
            lastSweepFailed = true;
        }
    }
}
