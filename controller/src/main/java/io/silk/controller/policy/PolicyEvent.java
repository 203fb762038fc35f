package io.silk.controller.policy;

import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.PolicyChange;
import java.util.Set;

/** One row of {@code policy_event}, as the policy stream carries it. Exactly one of c2c and egress is set. */
public record PolicyEvent(long revision, boolean created, C2CPolicy c2c, EgressPolicy egress) {

    /** Identifies a policy across its creation and deletion: its type and id. */
    public record Key(String type, long id) {}

    public Key key() {
        return c2c != null ? new Key("c2c", c2c.getId()) : new Key("egress", egress.getId());
    }

    /** True when a cell hosting these apps needs the policy. */
    public boolean concerns(Set<String> apps) {
        return c2c != null
                ? apps.contains(c2c.getSourceId()) || apps.contains(c2c.getDestinationId())
                : apps.contains(egress.getSourceId());
    }

    public PolicyChange toChange() {
        PolicyChange.Builder b = PolicyChange.newBuilder().setRevision(revision)
                .setKind(created ? PolicyChange.Kind.CREATED : PolicyChange.Kind.DELETED);
        return c2c != null ? b.setC2C(c2c).build() : b.setEgress(egress).build();
    }
}
