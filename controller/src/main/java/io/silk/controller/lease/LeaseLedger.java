package io.silk.controller.lease;

import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Acquire, renew and release, each one short PostgreSQL transaction; the common cases (a new
 * cell taking a free subnet, a live lease renewed, a release) are a single statement each. The
 * database enforces the invariants (primary key on the cell, no overlapping subnets); this class
 * only decides what to ask for and turns the database's refusals into messages a cell operator
 * can act on. After a write that may have written an event it wakes the change feeds
 * ({@link LeaseChangeSignal}); a wake-up with nothing new costs one read.
 */
@Service
public class LeaseLedger {

    private static final Logger log = LoggerFactory.getLogger(LeaseLedger.class);
    private static final String UNIQUE_VIOLATION = "23505";
    private static final String EXCLUSION_VIOLATION = "23P01";
    private static final int ATTEMPTS = 3;

    private final LeaseRepository leases;
    private final LeaseStatements statements;
    private final LeaseChangeSignal signal;
    private final TransactionTemplate tx;
    private final OverlayPool pool;
    private final double ttlSeconds;

    public LeaseLedger(LeaseRepository leases, LeaseStatements statements, LeaseChangeSignal signal, TransactionTemplate tx,
            LeaseProperties properties) {
        this.leases = leases;
        this.statements = statements;
        this.signal = signal;
        this.tx = tx;
        this.pool = properties.pool();
        this.ttlSeconds = properties.ttl().toMillis() / 1000.0;
    }

    public OverlayPool pool() {
        return pool;
    }

    /** The cell's lease: the one it holds if that lies in the pool, else a new one. */
    public LeaseView acquire(String cellText) {
        String cell = canonicalCell(cellText, "acquire lease");
        String context = "acquire lease for cell " + cell;
        LeaseView lease = retryingRaces(context, () -> statements.acquireFree(cell, pool.network().toString(), pool.subnetPrefix(), ttlSeconds)
                .map(LeaseView::of)
                .orElseGet(() -> acquireHeldOrReclaimed(cell)));
        signal.changed();
        return lease;
    }

    /** Acquire when the one-statement path did not apply: the cell holds a lease, or nothing is free. */
    private LeaseView acquireHeldOrReclaimed(String cell) {
        return tx.execute(status -> {
            leases.beginWrite();
            Optional<LeaseRecord> held = leases.lockByCell(cell);
            if (held.isPresent()) {
                LeaseRecord lease = held.get();
                if (pool.offers(Cidr.parse(lease.subnet(), "stored subnet"))) {
                    return lease.expired()
                            ? LeaseView.of(leases.revive(cell, ttlSeconds))
                            : LeaseView.of(leases.touch(cell, ttlSeconds));
                }
                // The network was reconfigured: this subnet is no longer offered.
                statements.release(cell);
                log.info("lease moved to the reconfigured network cell={} old_subnet={}", cell, lease.subnet());
            }
            String subnet = leases.takeFreeSubnet(pool.network().toString(), pool.subnetPrefix())
                    .or(() -> leases.reclaimOldestExpired(pool.network().toString(), pool.subnetPrefix())
                            .map(reclaimed -> {
                                log.info("reclaimed expired lease cell={} subnet={} for cell={}",
                                        reclaimed.underlayIp(), reclaimed.subnet(), cell);
                                return reclaimed.subnet();
                            }))
                    .orElseThrow(() -> new LeaseRejection(LeaseRejection.Reason.EXHAUSTED,
                            "pool " + pool.network() + " exhausted: all " + pool.size() + " /"
                                    + pool.subnetPrefix() + " subnets are leased and none has expired"));
            String mac = Cidr.parse(subnet, "subnet").vtepMac();
            return LeaseView.of(leases.insert(cell, subnet, mac, ttlSeconds));
        });
    }

    /**
     * Keeps a lease alive. A lease the database does not know is re-inserted when its subnet is
     * free (how cells heal a lost database); one that disagrees with the stored lease is refused.
     */
    public LeaseView renew(String cellText, String subnetText, String macText) {
        String cell = canonicalCell(cellText, "renew lease");
        String context = "renew lease for cell " + cell;
        Cidr subnet;
        try {
            subnet = Cidr.parse(subnetText, "overlay_subnet");
        } catch (LeaseRejection e) {
            throw e.in(context);
        }
        if (subnet.prefix() < 8 || subnet.prefix() > 30) {
            throw LeaseRejection.invalid("overlay_subnet " + subnet + " must have a prefix between /8 and /30")
                    .in(context);
        }
        if (macText != null && !macText.isEmpty() && !macText.equalsIgnoreCase(subnet.vtepMac())) {
            throw LeaseRejection.invalid("overlay_hardware_addr \"" + macText + "\" does not belong to subnet "
                    + subnet + " (expected " + subnet.vtepMac() + ")").in(context);
        }
        String wanted = subnet.toString();
        Optional<LeaseRecord> live = statements.renewLive(cell, wanted, ttlSeconds);
        if (live.isPresent()) {
            return LeaseView.of(live.get());
        }
        LeaseView renewed = retryingRaces(context, () -> tx.execute(status -> {
            leases.beginWrite();
            Optional<LeaseRecord> held = leases.lockByCell(cell);
            if (held.isPresent()) {
                LeaseRecord lease = held.get();
                if (!lease.subnet().equals(wanted)) {
                    throw new LeaseRejection(LeaseRejection.Reason.MISMATCH, "lease mismatch: the cell holds "
                            + lease.subnet() + ", not " + wanted + "; acquire a new lease (only safe with no containers)");
                }
                return lease.expired()
                        ? LeaseView.of(leases.revive(cell, ttlSeconds))
                        : LeaseView.of(leases.touch(cell, ttlSeconds));
            }
            leases.claimFreeSubnet(wanted);
            LeaseView adopted = LeaseView.of(leases.insert(cell, wanted, subnet.vtepMac(), ttlSeconds));
            log.info("renew adopted a lease unknown to the database cell={} subnet={}", cell, wanted);
            return adopted;
        }));
        signal.changed(); // revived or adopted (an event); rarely a touch that raced the fast path
        return renewed;
    }

    /** Releases the cell's lease; true when there was one. */
    public boolean release(String cellText) {
        String cell = canonicalCell(cellText, "release lease");
        // One statement in autocommit: its DELETE gives it an xid before nextval draws the revision.
        boolean released = statements.release(cell).isPresent();
        if (released) {
            signal.changed();
        }
        return released;
    }

    /** Writes an EXPIRED event for every lease past its TTL; safe on every replica at once. */
    public List<LeaseEventRecord> expireDue() {
        List<LeaseEventRecord> expired = tx.execute(status -> {
            leases.beginWrite();
            return leases.expireDue();
        });
        if (expired != null && !expired.isEmpty()) {
            signal.changed();
        }
        return expired;
    }

    private static String canonicalCell(String text, String action) {
        try {
            return Ipv4.format(Ipv4.parse(text, "underlay_ip"));
        } catch (LeaseRejection e) {
            throw e.in(action);
        }
    }

    /**
     * Runs a transaction again when it lost a race the database settled (two acquires for one cell,
     * say); turns a subnet held by another cell into a mismatch, and puts context on every refusal.
     */
    private LeaseView retryingRaces(String context, Supplier<LeaseView> attempt) {
        for (int i = 1; ; i++) {
            try {
                return attempt.get();
            } catch (LeaseRejection e) {
                throw e.in(context);
            } catch (DataIntegrityViolationException e) {
                String state = sqlState(e);
                if (EXCLUSION_VIOLATION.equals(state)) {
                    throw new LeaseRejection(LeaseRejection.Reason.MISMATCH,
                            context + ": lease mismatch: the subnet overlaps a lease held by another cell");
                }
                if (!UNIQUE_VIOLATION.equals(state) || i == ATTEMPTS) {
                    throw e;
                }
                log.debug("{}: lost a race, retrying", context);
            }
        }
    }

    private static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }
}
