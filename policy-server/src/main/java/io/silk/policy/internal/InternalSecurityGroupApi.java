package io.silk.policy.internal;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.silk.policy.policy.PolicyApi;
import io.silk.policy.securitygroup.SecurityGroupStore;
import io.silk.policy.web.ApiError;
import io.silk.values.Quote;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * cf's internal security-group listing, in its exact shape, for third-party agents that enforce
 * security groups themselves: the groups bound to the given spaces plus the global ones, paged by
 * id ({@code next}: the id to ask {@code from} next, 0 at the end).
 */
@RestController
@RequestMapping("/networking/v1/internal")
public class InternalSecurityGroupApi {

    /** cf's shape: the rules as a JSON string. */
    public record Group(String guid, String name, String rules, @JsonProperty("staging_default") boolean stagingDefault,
            @JsonProperty("running_default") boolean runningDefault,
            @JsonProperty("staging_space_guids") List<String> stagingSpaceGuids,
            @JsonProperty("running_space_guids") List<String> runningSpaceGuids) {}

    public record Groups(long next, @JsonProperty("security_groups") List<Group> securityGroups) {}

    private static final int DEFAULT_LIMIT = 5_000;

    private final SecurityGroupStore store;

    public InternalSecurityGroupApi(SecurityGroupStore store) {
        this.store = store;
    }

    @GetMapping("/security_groups")
    public Groups securityGroups(@RequestParam(name = "space_guids", required = false) String spaces,
            @RequestParam(name = "limit", required = false) String limit, @RequestParam(name = "from", required = false) String from) {
        int n = (int) number(limit, DEFAULT_LIMIT, "limit");
        long start = number(from, 0, "from");
        List<SecurityGroupStore.Stored> page = store.forSpaces(PolicyApi.split(spaces), start, n + 1);
        long next = page.size() > n ? page.get(n).id() : 0;
        return new Groups(next, page.stream().limit(n).map(g -> new Group(g.guid().toString(), g.name(), g.rules(),
                g.stagingDefault(), g.runningDefault(), g.stagingSpaces(), g.runningSpaces())).toList());
    }

    private static long number(String v, long otherwise, String what) {
        if (v == null || v.isEmpty()) {
            return otherwise;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= 0 && (!what.equals("limit") || (n >= 1 && n <= DEFAULT_LIMIT))) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiError.badRequest(what + " must be " + (what.equals("limit") ? "1 to " + DEFAULT_LIMIT : "0 or more")
                + ", not " + Quote.shortened(v));
    }
}
