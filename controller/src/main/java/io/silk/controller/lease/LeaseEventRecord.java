package io.silk.controller.lease;

import io.silk.proto.v1.Lease;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.time.Instant;

/** A row of {@code lease_event}: one change to one cell's lease, at one revision. */
public record LeaseEventRecord(
        long revision,
        Kind kind,
        Ipv4Address cell,
        Ipv4Network subnet,
        MacAddress vtepMac,
        Instant expiresAt) {

    /** The names are the {@code kind} column's values and the proto's {@code LeaseEvent.Kind}. */
    public enum Kind {
        /** Acquired, adopted or revived: cells route to it. */
        UPSERTED,
        /** Past its TTL: cells stop routing to it, its subnet stays reserved. */
        EXPIRED,
        /** Released or reclaimed: its subnet may go to another cell. */
        DELETED
    }

    /** The event a write of {@code lease} produced. */
    static LeaseEventRecord of(Kind kind, LeaseRecord lease) {
        return new LeaseEventRecord(lease.revision(), kind, lease.cell(), lease.subnet(), lease.vtepMac(), lease.expiresAt());
    }

    public Lease toProto() {
        return LeaseRecord.proto(cell, subnet, vtepMac, expiresAt, revision);
    }
}
