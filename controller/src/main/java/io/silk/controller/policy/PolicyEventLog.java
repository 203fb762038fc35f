package io.silk.controller.policy;

import io.silk.controller.feed.EventLog;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.silk.proto.v1.AddressRange;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.PortRange;
import io.silk.proto.v1.SecurityGroup;
import io.silk.proto.v1.SecurityGroupBinding;
import io.silk.proto.v1.SecurityGroupRule;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The policy log, which the policy server appends to: one thing per policy, security group or
 * group binding (its type and id); a snapshot holds the things that exist (last event CREATED).
 */
public final class PolicyEventLog implements EventLog<PolicyEvent.Key, PolicyEvent> {

    public static final String CHANNEL = "silk_policy_events";
    private static final ObjectMapper JSON = new ObjectMapper();

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
                + " (detail->>'icmp_type')::int, (detail->>'icmp_code')::int, detail::text";
    }

    @Override
    public PolicyEvent read(ResultSet rs) throws SQLException {
        PolicyChange.Builder change = PolicyChange.newBuilder().setRevision(rs.getLong(1))
                .setKind("CREATED".equals(rs.getString(2)) ? PolicyChange.Kind.CREATED : PolicyChange.Kind.DELETED);
        switch (rs.getString(3)) {
            case "c2c" -> change.setC2C(C2CPolicy.newBuilder().setId(rs.getLong(4)).setSourceId(rs.getString(5))
                    .setDestinationId(rs.getString(6)).setProtocol(rs.getString(7)).setStartPort(rs.getInt(8))
                    .setEndPort(rs.getInt(9)).setSourceTag(rs.getInt(10)).setDestinationTag(rs.getInt(11)));
            case "egress" -> change.setEgress(egress(rs));
            case "security_group" -> change.setSecurityGroup(securityGroup(rs.getLong(4), detail(rs)));
            case "security_group_binding" -> {
                JsonNode d = detail(rs);
                change.setSecurityGroupBinding(SecurityGroupBinding.newBuilder().setId(rs.getLong(4))
                        .setSecurityGroupGuid(d.path("security_group_guid").asText()).setSpaceId(d.path("space_guid").asText())
                        .setLifecycle(d.path("lifecycle").asText()));
            }
            default -> throw new SQLException("policy event " + rs.getLong(1) + " has the unknown type " + rs.getString(3));
        }
        return new PolicyEvent(change.build());
    }

    private static EgressPolicy egress(ResultSet rs) throws SQLException {
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
        return e.build();
    }

    private static JsonNode detail(ResultSet rs) throws SQLException {
        try {
            return JSON.readTree(rs.getString(16));
        } catch (java.io.IOException e) {
            throw new SQLException("policy event " + rs.getLong(1) + ": its detail is not JSON", e);
        }
    }

    /** A group's event detail (security_group_event_detail in V7): its rules already parsed by the policy server. */
    private static SecurityGroup securityGroup(long id, JsonNode d) {
        SecurityGroup.Builder g = SecurityGroup.newBuilder().setId(id).setGuid(d.path("guid").asText())
                .setName(d.path("name").asText()).setRunningDefault(d.path("running_default").asBoolean())
                .setStagingDefault(d.path("staging_default").asBoolean());
        for (JsonNode e : d.path("entries")) {
            SecurityGroupRule.Builder r = SecurityGroupRule.newBuilder().setProtocol(e.path("protocol").asText())
                    .setIcmpType(e.path("icmp_type").asInt(-1)).setIcmpCode(e.path("icmp_code").asInt(-1))
                    .setLog(e.path("log").asBoolean());
            for (JsonNode a : e.path("destinations")) {
                r.addDestinations(AddressRange.newBuilder().setStart(a.path("start").asText()).setEnd(a.path("end").asText()));
            }
            for (JsonNode p : e.path("ports")) {
                r.addPorts(PortRange.newBuilder().setStart(p.path("start").asInt()).setEnd(p.path("end").asInt()));
            }
            g.addRules(r);
        }
        return g.build();
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
