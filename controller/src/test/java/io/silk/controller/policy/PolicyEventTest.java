package io.silk.controller.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.SecurityGroup;
import io.silk.proto.v1.SecurityGroupBinding;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which cells a policy-log event goes to, and what identifies it across its events. */
class PolicyEventTest {

    static PolicyEvent binding(long id, String space, PolicyChange.Kind kind) {
        return new PolicyEvent(PolicyChange.newBuilder().setKind(kind).setRevision(id).setSecurityGroupBinding(
                SecurityGroupBinding.newBuilder().setId(id).setSecurityGroupGuid("g").setSpaceId(space).setLifecycle("running")).build());
    }

    @Test
    void aBindingGoesOnlyToCellsHostingItsSpaceWhetherMadeOrUndone() {
        assertThat(binding(1, "space-1", PolicyChange.Kind.CREATED).concerns(Set.of(), Set.of("space-1"))).isTrue();
        assertThat(binding(1, "space-1", PolicyChange.Kind.DELETED).concerns(Set.of(), Set.of("space-1"))).isTrue();
        assertThat(binding(1, "space-1", PolicyChange.Kind.CREATED).concerns(Set.of("space-1"), Set.of("space-2")))
                .as("an app named like the space does not count").isFalse();
    }

    @Test
    void everyGroupGoesToEveryCell() {
        PolicyEvent group = new PolicyEvent(PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED)
                .setSecurityGroup(SecurityGroup.newBuilder().setId(7).setGuid("g")).build());
        assertThat(group.concerns(Set.of(), Set.of())).isTrue();
        assertThat(group.key()).isEqualTo(new PolicyEvent.Key("security_group", 7));
        assertThat(binding(7, "s", PolicyChange.Kind.CREATED).key()).as("a binding's id is its own, not its group's")
                .isEqualTo(new PolicyEvent.Key("security_group_binding", 7));
    }

    @Test
    void policiesGoToCellsOfTheirApps() {
        PolicyEvent c2c = new PolicyEvent(PolicyChange.newBuilder().setKind(PolicyChange.Kind.CREATED)
                .setC2C(C2CPolicy.newBuilder().setId(3).setSourceId("a").setDestinationId("b")).build());
        assertThat(c2c.concerns(Set.of("b"), Set.of())).isTrue();
        assertThat(c2c.concerns(Set.of("c"), Set.of("a"))).isFalse();
    }
}
