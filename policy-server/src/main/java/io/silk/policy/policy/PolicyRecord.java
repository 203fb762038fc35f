package io.silk.policy.policy;

import org.springframework.data.annotation.Id;
import org.springframework.data.relational.core.mapping.Table;

/** A row of {@code policy}. */
@Table("policy")
public record PolicyRecord(@Id Long id, String sourceId, String destinationId, String protocol, int startPort, int endPort) {

    PolicyJson.Policy toJson() {
        return new PolicyJson.Policy(new PolicyJson.Source(sourceId),
                new PolicyJson.Destination(destinationId, protocol, new PolicyJson.Ports(startPort, endPort)));
    }
}
