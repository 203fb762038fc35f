package io.silk.policy.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** The JSON shapes of cf-networking's external API v1, field for field. */
public final class PolicyJson {
    private PolicyJson() {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Source(String id, String tag) {
        public Source(String id) {
            this(id, null);
        }
    }

    public record Ports(int start, int end) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Destination(String id, String tag, String protocol, Ports ports) {
        public Destination(String id, String protocol, Ports ports) {
            this(id, null, protocol, ports);
        }
    }

    public record Policy(Source source, Destination destination) {}

    public record Policies(List<Policy> policies) {}

    public record PoliciesPayload(@JsonProperty("total_policies") int totalPolicies, List<Policy> policies) {}

    public record Tag(String id, String tag, String type) {}

    /** A tag as cf-networking's APIs write it: four hex digits, "000A". */
    public static String tag(int tag) {
        return String.format(java.util.Locale.ROOT, "%04X", tag);
    }

    public record Tags(List<Tag> tags) {}
}
