package io.silk.controller.lease;

import io.silk.controller.database.DatabaseReadiness;
import io.silk.controller.grpc.Refusal;
import io.silk.db.ChangeSignal;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import io.silk.values.Quote;
import io.silk.values.SilkMacs;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Acquire, renew and release, each one short PostgreSQL transaction; the common cases (a new
 * cell taking a free subnet, a live lease renewed, a release) are a single statement each. The
 * database enforces the invariants (primary key on the cell, no overlapping subnets); this class
 * decides what to ask for and turns the database's refusals into messages a cell operator can act
 * on. After a write that may have appended an event it wakes the change feeds of every replica
 * ({@link ChangeSignal}, after commit); a wake-up with nothing new costs one read.
 */
@Service
public class LeaseLedger {

    private static final Logger log = LoggerFactory.getLogger(LeaseLedger.class);
    private static final String UNIQUE_VIOLATION = "23505";
    private static final String EXCLUSION_VIOLATION = "23P01";
    private static final int ATTEMPTS = 3;
    /** Leases expired per sweep statement; a backlog takes several (each a short transaction). */
    private static final int EXPIRY_BATCH = 1000;

    private final LeaseStore store;
    private final ChangeSignal signal;
    private final TransactionTemplate tx;
    private final DatabaseReadiness readiness;
    private final OverlayPool pool;
    private final double ttlSeconds;
    private final AllocationFence fence;

    public LeaseLedger(LeaseStore store, @Qualifier("leaseChangeSignal") ChangeSignal signal, TransactionTemplate tx,
            DatabaseReadiness readiness, LeaseProperties properties, AllocationFence fence) {
        this.store = store;
        this.fence = fence;
        this.signal = signal;
        this.tx = tx;
        this.readiness = readiness;
        this.pool = properties.pool();
        this.ttlSeconds = properties.ttl().toMillis() / 1000.0;
    }

    public OverlayPool pool() {
        return pool;
    }

    /** The cell's lease: the one it holds if that lies in the pool, else a new one (unless allocation is fenced). */
    public LeaseRecord acquire(Ipv4Address cell) {
        String context = "acquire lease for cell " + cell;
        readiness.require(context);
        LeaseRecord lease = retryingRaces(context, () -> store.acquireFree(cell, pool, ttlSeconds)
                .orElseGet(() -> acquireHeldOrReclaimed(cell)));
        signal.changed();
        return lease;
    }

    /**
     * Acquire when the one-statement path did not apply: the cell holds a lease, or nothing is free.
     * A cell holding a single overlay IP moves to a subnet: it asks for addresses for containers,
     * which a /32 does not have (Silk would hand the /32 back).
     */
    private LeaseRecord acquireHeldOrReclaimed(Ipv4Address cell) {
        return tx.execute(status -> {
            Optional<LeaseRecord> held = keepHeld(cell, pool::offers);
            if (held.isPresent()) {
                return held.get();
            }
            fence.require("new lease");
            Ipv4Network subnet = store.takeFreeSubnet(pool)
                    .or(() -> store.reclaimOldestExpired(pool).map(reclaimed -> {
                        log.atInfo().setMessage("reclaimed an expired lease").addKeyValue("cell", reclaimed.cell())
                                .addKeyValue("subnet", reclaimed.subnet()).addKeyValue("for_cell", cell).log();
                        return reclaimed.subnet();
                    }))
                    .orElseThrow(() -> new Refusal(Refusal.Reason.EXHAUSTED,
                            "pool " + pool.network() + " exhausted: all " + pool.size() + " /"
                                    + pool.subnetPrefix() + " subnets are leased and none has expired"));
            return store.insert(cell, subnet, ttlSeconds);
        });
    }

    /**
     * A single overlay IP for a host without containers (a router), Silk's {@code single_overlay_ip}:
     * a /32 from subnet 0 of the network, which cells never get; the lowest free address, else the
     * one whose lease expired first. As in Silk, a cell that holds a lease keeps it, a subnet included.
     */
    public LeaseRecord acquireSingleIp(Ipv4Address cell) {
        String context = "acquire single overlay IP for " + cell;
        readiness.require(context);
        LeaseRecord lease = retryingRaces(context, () -> tx.execute(status -> {
            Optional<LeaseRecord> held = keepHeld(cell, subnet -> pool.offersSingleIp(subnet) || pool.offers(subnet));
            if (held.isPresent()) {
                return held.get();
            }
            fence.require("new single overlay IP");
            store.lockSingleIps();
            Ipv4Network ip = store.freeSingleIp(pool)
                    .or(() -> store.reclaimOldestExpiredSingleIp(pool).map(reclaimed -> {
                        log.atInfo().setMessage("reclaimed an expired single overlay IP").addKeyValue("cell", reclaimed.cell())
                                .addKeyValue("subnet", reclaimed.subnet()).addKeyValue("for_cell", cell).log();
                        return reclaimed.subnet();
                    }))
                    .orElseThrow(() -> new Refusal(Refusal.Reason.EXHAUSTED, "the single-IP block " + pool.singleIpBlock()
                            + " is exhausted: all " + pool.singleIpCount() + " addresses are leased and none has expired"));
            return store.insert(cell, ip, ttlSeconds);
        }));
        signal.changed();
        return lease;
    }

    /**
     * In a transaction: the cell's lease, locked and renewed, when it holds one that {@code kept}
     * accepts; a lease it does not accept (the network was reconfigured, or it is of the other kind)
     * is released, and the cell gets a new one.
     */
    private Optional<LeaseRecord> keepHeld(Ipv4Address cell, Predicate<Ipv4Network> kept) {
        Optional<LeaseRecord> held = store.lockByCell(cell);
        if (held.isEmpty()) {
            return held;
        }
        LeaseRecord lease = held.get();
        if (kept.test(lease.subnet())) {
            return Optional.of(lease.expired() ? store.revive(cell, ttlSeconds) : store.touch(cell, ttlSeconds));
        }
        store.release(cell);
        log.atInfo().setMessage("lease released for a new one").addKeyValue("cell", cell)
                .addKeyValue("old_subnet", lease.subnet()).log();
        return Optional.empty();
    }

    /**
     * Keeps a lease alive. A lease the database does not know is re-inserted when the pool offers
     * its subnet or single IP and no other cell holds it (how cells heal a lost database); a lease
     * that disagrees with the stored one, or a subnet the pool does not offer, is refused.
     */
    public LeaseRecord renew(Ipv4Address cell, String subnetText, String macText) {
        String context = "renew lease for cell " + cell;
        Ipv4Network subnet;
        try {
            subnet = Ipv4Network.parse(subnetText, "overlay_subnet");
            if (macText != null && !macText.isEmpty()) {
                MacAddress mac = MacAddress.parse(macText.toLowerCase(java.util.Locale.ROOT), "overlay_hardware_addr");
                if (!mac.equals(SilkMacs.vtep(subnet))) {
                    throw new BadValue("overlay_hardware_addr " + Quote.shortened(macText) + " does not belong to subnet "
                            + subnet + " (expected " + SilkMacs.vtep(subnet) + ")");
                }
            }
        } catch (BadValue e) {
            throw Refusal.invalid(e.getMessage()).in(context);
        }
        readiness.require(context);
        Optional<LeaseRecord> live = store.renewLive(cell, subnet, ttlSeconds);
        if (live.isPresent()) {
            return live.get();
        }
        LeaseRecord renewed = retryingRaces(context, () -> tx.execute(status -> {
            Optional<LeaseRecord> held = store.lockByCell(cell);
            if (held.isPresent()) {
                LeaseRecord lease = held.get();
                if (!lease.subnet().equals(subnet)) {
                    throw new Refusal(Refusal.Reason.MISMATCH, "lease mismatch: the cell holds "
                            + lease.subnet() + ", not " + subnet + "; acquire a new lease (only safe with no containers)");
                }
                return lease.expired() ? store.revive(cell, ttlSeconds) : store.touch(cell, ttlSeconds);
            }
            if (pool.offersSingleIp(subnet)) {
                store.lockSingleIps();
            } else if (pool.offers(subnet)) {
                store.claimFreeSubnet(subnet);
            } else {
                throw new Refusal(Refusal.Reason.MISMATCH, "the database holds no lease for the cell and "
                        + subnet + " is not a subnet the pool offers (" + pool.describe()
                        + "); acquire a new lease (only safe with no containers)");
            }
            LeaseRecord adopted = store.insert(cell, subnet, ttlSeconds);
            log.atInfo().setMessage("renew adopted a lease unknown to the database").addKeyValue("cell", cell)
                    .addKeyValue("subnet", subnet).log();
            return adopted;
        }));
        signal.changed(); // revived or adopted (an event); rarely a touch that raced the fast path
        return renewed;
    }

    /** Releases the cell's lease; true when there was one. */
    public boolean release(Ipv4Address cell) {
        readiness.require("release lease for cell " + cell);
        boolean released = store.release(cell).isPresent();
        if (released) {
            signal.changed();
        }
        return released;
    }

    /** Writes an EXPIRED event for every lease past its TTL; safe on every replica at once. */
    public List<LeaseRecord> expireDue() {
        List<LeaseRecord> expired = store.expireDue(EXPIRY_BATCH);
        if (!expired.isEmpty()) {
            signal.changed();
        }
        return expired;
    }

    /**
     * Runs a transaction again when it lost a race the database settled (two acquires for one cell,
     * say); turns a subnet held by another cell into a mismatch, and puts context on every refusal.
     */
    private LeaseRecord retryingRaces(String context, Supplier<LeaseRecord> attempt) {
        for (int i = 1; ; i++) {
            try {
                return attempt.get();
            } catch (Refusal e) {
                throw e.in(context);
            } catch (DataIntegrityViolationException e) {
                String state = sqlState(e);
                if (EXCLUSION_VIOLATION.equals(state)) {
                    throw new Refusal(Refusal.Reason.MISMATCH,
                            context + ": lease mismatch: the subnet overlaps a lease held by another cell");
                }
                if (!UNIQUE_VIOLATION.equals(state) || i == ATTEMPTS) {
                    throw e;
                }
                log.atDebug().setMessage("lost a race, retrying").addKeyValue("call", context).log();
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
