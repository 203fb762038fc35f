package io.silk.controller.lease;

import io.silk.controller.feed.EventLog;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;

/** The lease log: one thing per cell; a snapshot holds the routable leases (last event UPSERTED). */
public final class LeaseEventLog implements EventLog<Ipv4Address, LeaseEventRecord> {

    public static final String CHANNEL = "silk_lease_events";

    @Override
    public String name() {
        return "lease";
    }

    @Override
    public String table() {
        return "lease_event";
    }

    @Override
    public String sequence() {
        return "lease_revision";
    }

    @Override
    public String channel() {
        return CHANNEL;
    }

    @Override
    public String keyColumns() {
        return "underlay_ip";
    }

    @Override
    public String columns() {
        return "revision, kind, host(underlay_ip), subnet::text, vtep_mac::text, expires_at";
    }

    @Override
    public LeaseEventRecord read(ResultSet rs) throws SQLException {
        return new LeaseEventRecord(rs.getLong(1), LeaseEventRecord.Kind.valueOf(rs.getString(2)),
                Ipv4Address.parse(rs.getString(3), "underlay_ip"), Ipv4Network.parse(rs.getString(4), "subnet"),
                MacAddress.parse(rs.getString(5), "vtep_mac"), rs.getObject(6, OffsetDateTime.class).toInstant());
    }

    @Override
    public long revision(LeaseEventRecord event) {
        return event.revision();
    }

    @Override
    public Ipv4Address key(LeaseEventRecord event) {
        return event.cell();
    }

    @Override
    public boolean removes(LeaseEventRecord event) {
        return event.kind() == LeaseEventRecord.Kind.DELETED;
    }

    /**
     * Routable means the last event was UPSERTED. Not judged by the event's expires_at: a renew of
     * a live lease writes no event, so that time is stale; expiry arrives as an EXPIRED event.
     */
    @Override
    public boolean live(LeaseEventRecord event) {
        return event.kind() == LeaseEventRecord.Kind.UPSERTED;
    }
}
