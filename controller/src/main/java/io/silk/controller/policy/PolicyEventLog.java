package io.silk.controller.policy;

import io.silk.controller.feed.EventLog;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The policy log, which the policy server appends to: one thing per policy (its type and id); a
 * snapshot holds the policies that exist (last event CREATED).
 */
public final class PolicyEventLog implements EventLog<PolicyEvent.Key, PolicyEvent> {

    public static final String CHANNEL = "silk_policy_events";

    @Override
    public String name() {
        return "policy";
    }

    @Override
    public String table() {
        return "policy_event";
    }

    @Override
    public String sequence() {
        return "policy_revision";
    }

    @Override
    public String channel() {
        return CHANNEL;
    }

    @Override
    public String keyColumns() {
        return "policy_type, policy_id";
    }

    @Override
    public String columns() {
        return "revision, kind, policy_type, policy_id, source_id, detail->>'destination_id', detail->>'protocol',"
                + " (detail->>'start_port')::int, (detail->>'end_port')::int, (detail->>'source_tag')::int,"
                + " (detail->>'destination_tag')::int, detail->>'start_ip', detail->>'end_ip',"
                + " (detail->>'icmp_type')::int, (detail->>'icmp_code')::int";
    }

    @Override
    public PolicyEvent read(ResultSet rs) throws SQLException {
        long revision = rs.getLong(1);
        boolean created = "CREATED".equals(rs.getString(2));
        if ("c2c".equals(rs.getString(3))) {
            return new PolicyEvent(revision, created, C2CPolicy.newBuilder().setId(rs.getLong(4)).setSourceId(rs.getString(5))
                    .setDestinationId(rs.getString(6)).setProtocol(rs.getString(7)).setStartPort(rs.getInt(8))
                    .setEndPort(rs.getInt(9)).setSourceTag(rs.getInt(10)).setDestinationTag(rs.getInt(11)).build(), null);
        }
        EgressPolicy.Builder e = EgressPolicy.newBuilder().setId(rs.getLong(4)).setSourceId(rs.getString(5))
                .setProtocol(rs.getString(7)).setSourceTag(rs.getInt(10)).setStartIp(rs.getString(12)).setEndIp(rs.getString(13));
        int startPort = rs.getInt(8);
        if (!rs.wasNull()) {
            e.setStartPort(startPort).setEndPort(rs.getInt(9));
        }
        int type = rs.getInt(14);
        e.setIcmpType(rs.wasNull() ? -1 : type);
        int code = rs.getInt(15);
        e.setIcmpCode(rs.wasNull() ? -1 : code);
        return new PolicyEvent(revision, created, null, e.build());
    }

    @Override
    public long revision(PolicyEvent event) {
        return event.revision();
    }

    @Override
    public PolicyEvent.Key key(PolicyEvent event) {
        return event.key();
    }

    @Override
    public boolean removes(PolicyEvent event) {
        return !event.created();
    }

    @Override
    public boolean live(PolicyEvent event) {
        return event.created();
    }
}
