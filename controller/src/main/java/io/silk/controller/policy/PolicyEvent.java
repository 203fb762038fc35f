package io.silk.controller.policy;

import io.silk.proto.v1.PolicyChange;
import java.util.Set;

/**
 * One row of {@code policy_event}, as the policy stream carries it: a c2c or egress policy, a
 * security group or a group's binding to a space, created (for a group: created or replaced) or
 * deleted.
 */
public record PolicyEvent(PolicyChange change) {

    /** Identifies a thing across its events: its type and id. */
    public record Key(String type, long id) {}

    public long revision() {
        return change.getRevision();
    }

    public boolean created() {
        return change.getKind() == PolicyChange.Kind.CREATED;
    }

    public Key key() {
        return switch (change.getPolicyCase()) {
            case C2C -> new Key("c2c", change.getC2C().getId());
            case EGRESS -> new Key("egress", change.getEgress().getId());
            case SECURITY_GROUP -> new Key("security_group", change.getSecurityGroup().getId());
            case SECURITY_GROUP_BINDING -> new Key("security_group_binding", change.getSecurityGroupBinding().getId());
            case POLICY_NOT_SET -> throw new IllegalStateException("policy event " + revision() + " carries nothing");
        };
    }

    /**
     * True when a cell hosting these apps and spaces needs it: policies naming one of its apps, the
     * bindings of its spaces, and every security group (a group is small, and a cell must know a
     * group before a binding of one of its spaces names it).
     */
    public boolean concerns(Set<String> apps, Set<String> spaces) {
        return switch (change.getPolicyCase()) {
            case C2C -> apps.contains(change.getC2C().getSourceId()) || apps.contains(change.getC2C().getDestinationId());
            case EGRESS -> apps.contains(change.getEgress().getSourceId());
            case SECURITY_GROUP -> true;
            case SECURITY_GROUP_BINDING -> spaces.contains(change.getSecurityGroupBinding().getSpaceId());
            case POLICY_NOT_SET -> false;
        };
    }
}
