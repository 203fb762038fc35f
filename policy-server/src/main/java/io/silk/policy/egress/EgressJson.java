package io.silk.policy.egress;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Egress policies: an app may reach addresses outside the overlay. Shapes in the style of the v1 API. */
public final class EgressJson {
    private EgressJson() {}

    public record Source(String id) {}

    public record IpRange(String start, String end) {}

    public record Ports(int start, int end) {}

    /**
     * Either {@code cidr} or {@code ips} names the addresses. {@code ports} only for tcp and udp
     * (absent: every port); {@code icmp_type} and {@code icmp_code} only for icmp (absent: any).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Destination(String cidr, IpRange ips, String protocol, Ports ports,
            @JsonProperty("icmp_type") Integer icmpType, @JsonProperty("icmp_code") Integer icmpCode) {}

    public record EgressPolicy(Source source, Destination destination) {}

    public record EgressPolicies(@JsonProperty("egress_policies") List<EgressPolicy> egressPolicies) {}

    public record EgressPoliciesPayload(@JsonProperty("total_egress_policies") int total,
            @JsonProperty("egress_policies") List<EgressPolicy> egressPolicies) {}
}
