package io.silk.policy.policy;

import io.silk.policy.PolicyServerProperties;
import io.silk.policy.log.PolicyLogWriter;
import io.silk.policy.policy.PolicyJson.Policy;
import java.util.List;
import org.springframework.stereotype.Service;

/**
 * Creates, deletes and lists app → app policies. Every app named in a policy gets a 16-bit tag
 * (its VXLAN-GBP group) the first time it appears; the tag is freed when no policy names it.
 * network.write callers may give a source app at most silk.policy-server.max-policies-per-source.
 */
@Service
public class PolicyBook {

    private final PolicyRepository policies;
    private final PolicyLogWriter writer;
    private final int quota;

    public PolicyBook(PolicyRepository policies, PolicyLogWriter writer, PolicyServerProperties properties) {
        this.policies = policies;
        this.writer = writer;
        this.quota = properties.maxPoliciesPerSource();
    }

    /** Creates the policies (those that exist already are left as they are). */
    public void create(List<Policy> request, boolean enforceQuota) {
        PolicyValidator.validate(request);
        writer.create(PolicyLogWriter.Kind.C2C, rows(request), enforceQuota ? quota : null);
    }

    /** Deletes the policies (those that do not exist are skipped); frees tags no longer needed. */
    public void delete(List<Policy> request) {
        PolicyValidator.validate(request);
        writer.delete(PolicyLogWriter.Kind.C2C, rows(request));
    }

    /** A policy as the write functions take it. */
    record Row(String sourceId, String destinationId, String protocol, int startPort, int endPort) {}

    private static List<Row> rows(List<Policy> request) {
        return request.stream().map(p -> new Row(p.source().id(), p.destination().id(), p.destination().protocol(),
                p.destination().ports().start(), p.destination().ports().end())).toList();
    }

    /** The cf-networking filters: id (source or destination), else source_id and/or dest_id. */
    public List<PolicyRecord> list(List<String> ids, List<String> sourceIds, List<String> destIds) {
        if (!ids.isEmpty()) {
            return policies.findByAnyOf(ids);
        }
        if (!sourceIds.isEmpty() && !destIds.isEmpty()) {
            return policies.findBySourcesAndDestinations(sourceIds, destIds);
        }
        if (!sourceIds.isEmpty()) {
            return policies.findBySources(sourceIds);
        }
        if (!destIds.isEmpty()) {
            return policies.findByDestinations(destIds);
        }
        return policies.findAll();
    }
}
