package io.silk.policy.policy;

import io.silk.policy.PolicyServerProperties;
import io.silk.policy.policy.PolicyJson.Policy;
import io.silk.policy.tag.AppTags;
import io.silk.policy.web.ApiError;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Creates, deletes and lists app → app policies. Every app named in a policy gets a 16-bit tag
 * (its VXLAN-GBP group) the first time it appears; the tag is freed when no policy names it.
 */
@Service
public class PolicyBook {

    private static final int ATTEMPTS = 3;

    private final PolicyRepository policies;
    private final AppTags tags;
    private final TransactionTemplate tx;
    private final int quota;

    public PolicyBook(PolicyRepository policies, AppTags tags, TransactionTemplate tx, PolicyServerProperties properties) {
        this.policies = policies;
        this.tags = tags;
        this.tx = tx;
        this.quota = properties.maxPoliciesPerSource();
    }

    /** Creates the policies (those that exist already are left as they are). */
    public void create(List<Policy> request, boolean enforceQuota) {
        PolicyValidator.validate(request);
        for (int attempt = 1; ; attempt++) {
            try {
                tx.executeWithoutResult(status -> {
                    Set<String> apps = new LinkedHashSet<>();
                    Map<String, Integer> perSource = new HashMap<>();
                    for (Policy p : request) {
                        apps.add(p.source().id());
                        apps.add(p.destination().id());
                        perSource.merge(p.source().id(), 1, Integer::sum);
                    }
                    Set<String> tagged = tags.beginWrite(apps);
                    if (enforceQuota) {
                        perSource.forEach((source, adding) -> {
                            if (policies.countBySource(source) + adding > quota) {
                                throw ApiError.forbidden("policy quota exceeded");
                            }
                        });
                    }
                    for (String app : apps) {
                        if (!tagged.contains(app)) {
                            tags.tagNew(app);
                        }
                    }
                    for (Policy p : request) {
                        var d = p.destination();
                        policies.create(p.source().id(), d.id(), d.protocol(), d.ports().start(), d.ports().end());
                    }
                });
                return;
            } catch (DataIntegrityViolationException e) {
                // Two requests gave the same new app a tag at once (23505), or a delete freed an
                // app's tag while this request named the app (23503): the loser tries again.
                String state = sqlState(e);
                if (attempt == ATTEMPTS || !("23505".equals(state) || "23503".equals(state))) {
                    throw e;
                }
            }
        }
    }

    /** Deletes the policies (those that do not exist are skipped); frees tags no longer needed. */
    public void delete(List<Policy> request) {
        PolicyValidator.validate(request);
        Set<String> apps = new LinkedHashSet<>();
        tx.executeWithoutResult(status -> {
            policies.beginWrite();
            for (Policy p : request) {
                var d = p.destination();
                if (policies.delete(p.source().id(), d.id(), d.protocol(), d.ports().start(), d.ports().end()).isPresent()) {
                    apps.add(p.source().id());
                    apps.add(d.id());
                }
            }
        });
        tags.releaseUnused(apps);
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

    private static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null) {
                return s.getSQLState();
            }
        }
        return null;
    }
}
