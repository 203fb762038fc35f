package io.silk.policy.egress;

import io.silk.policy.auth.Scopes;
import io.silk.policy.egress.EgressJson.EgressPolicies;
import io.silk.policy.egress.EgressJson.EgressPoliciesPayload;
import io.silk.policy.log.PolicyLogWriter;
import io.silk.policy.policy.PolicyApi;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * /networking/v1/external/egress_policies: create (idempotent), list (by source app), delete
 * (missing ones skipped). network.admin only, as cf-networking's egress API was.
 */
@RestController
@RequestMapping("/networking/{version}/external/egress_policies")
public class EgressApi {

    private final EgressRepository egress;
    private final PolicyLogWriter writer;

    public EgressApi(EgressRepository egress, PolicyLogWriter writer) {
        this.egress = egress;
        this.writer = writer;
    }

    @PostMapping
    public Map<String, Object> create(@PathVariable String version, @RequestBody(required = false) EgressPolicies body) {
        PolicyApi.supported(version);
        Scopes.require(Scopes.ADMIN);
        List<EgressRule> rules = EgressRule.from(body == null ? null : body.egressPolicies());
        writer.create(PolicyLogWriter.Kind.EGRESS, rules, null);
        return Map.of();
    }

    @PostMapping("/delete")
    public Map<String, Object> delete(@PathVariable String version, @RequestBody(required = false) EgressPolicies body) {
        PolicyApi.supported(version);
        Scopes.require(Scopes.ADMIN);
        List<EgressRule> rules = EgressRule.from(body == null ? null : body.egressPolicies());
        writer.delete(PolicyLogWriter.Kind.EGRESS, rules);
        return Map.of();
    }

    @GetMapping
    public EgressPoliciesPayload list(@PathVariable String version, @RequestParam(name = "id", required = false) String id) {
        PolicyApi.supported(version);
        Scopes.require(Scopes.ADMIN);
        List<String> ids = PolicyApi.split(id);
        var found = (ids.isEmpty() ? egress.findAll() : egress.findBySources(ids)).stream()
                .map(r -> r.rule().toJson()).toList();
        return new EgressPoliciesPayload(found.size(), found);
    }
}
