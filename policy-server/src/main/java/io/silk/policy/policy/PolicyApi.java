package io.silk.policy.policy;

import io.silk.policy.auth.Scopes;
import io.silk.policy.policy.PolicyJson.Policies;
import io.silk.policy.policy.PolicyJson.PoliciesPayload;
import io.silk.policy.tag.TagRepository;
import io.silk.policy.web.ApiError;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * /networking/v1/external/policies and /tags, as cf-networking serves them. With a Cloud
 * Controller, network.write callers who are not network.admin may create, list and delete only
 * policies whose apps are in spaces where they are space developers ({@link DeveloperSpaces});
 * admins never wait on the Cloud Controller.
 */
@RestController
@RequestMapping("/networking/{version}/external")
public class PolicyApi {

    /** cf-networking's refusal when the caller may not act on an app of the request. */
    public static final String NOT_ACCESSIBLE = "one or more applications cannot be found or accessed";

    private static final Logger log = LoggerFactory.getLogger(PolicyApi.class);

    private final PolicyBook book;
    private final TagRepository tags;
    private final DeveloperSpaces spaces;

    public PolicyApi(PolicyBook book, TagRepository tags, DeveloperSpaces spaces) {
        this.book = book;
        this.tags = tags;
        this.spaces = spaces;
    }

    public static void supported(String version) {
        if (!"v1".equals(version)) {
            throw new ApiError(HttpStatus.NOT_ACCEPTABLE, "api version '" + version + "' not supported");
        }
    }

    @PostMapping("/policies")
    public Map<String, Object> create(@PathVariable String version, @RequestBody(required = false) Policies body) {
        supported(version);
        Scopes.require(Scopes.ADMIN, Scopes.WRITE);
        boolean admin = Scopes.isAdmin();
        List<PolicyJson.Policy> policies = body == null ? null : body.policies();
        if (!admin) {
            requireDeveloper(policies);
        }
        book.create(policies, !admin);
        return Map.of();
    }

    @PostMapping("/policies/delete")
    public Map<String, Object> delete(@PathVariable String version, @RequestBody(required = false) Policies body) {
        supported(version);
        Scopes.require(Scopes.ADMIN, Scopes.WRITE);
        List<PolicyJson.Policy> policies = body == null ? null : body.policies();
        if (!Scopes.isAdmin()) {
            requireDeveloper(policies);
        }
        book.delete(policies);
        return Map.of();
    }

    @GetMapping("/policies")
    public PoliciesPayload list(@PathVariable String version,
            @RequestParam(name = "id", required = false) String id,
            @RequestParam(name = "source_id", required = false) String sourceId,
            @RequestParam(name = "dest_id", required = false) String destId) {
        supported(version);
        Scopes.require(Scopes.ADMIN, Scopes.WRITE);
        List<PolicyRecord> records = book.list(split(id), split(sourceId), split(destId));
        if (!Scopes.isAdmin() && spaces.restricts()) {
            records = developed(records);
        }
        var found = records.stream().map(PolicyRecord::toJson).toList();
        return new PoliciesPayload(found.size(), found);
    }

    /** cf's guard: 403 unless every app named is in a space the caller develops in (checked after the request is). */
    private void requireDeveloper(List<PolicyJson.Policy> policies) {
        if (!spaces.restricts()) {
            return;
        }
        PolicyValidator.validate(policies);
        Set<String> apps = new LinkedHashSet<>();
        for (PolicyJson.Policy p : policies) {
            apps.add(p.source().id());
            apps.add(p.destination().id());
        }
        Set<String> allowed;
        try {
            allowed = spaces.appsDevelopedBy(Scopes.subject(), apps);
        } catch (RuntimeException e) {
            log.atWarn().setMessage("check access failed").addKeyValue("user", Scopes.subject()).addKeyValue("error", e.getMessage()).log();
            throw new ApiError(HttpStatus.INTERNAL_SERVER_ERROR, "check access failed");
        }
        if (!allowed.containsAll(apps)) {
            throw ApiError.forbidden(NOT_ACCESSIBLE);
        }
    }

    /** cf's filter: only the policies whose source and destination are both in spaces the caller develops in. */
    private List<PolicyRecord> developed(List<PolicyRecord> records) {
        if (records.isEmpty()) {
            return records;
        }
        Set<String> apps = new LinkedHashSet<>();
        for (PolicyRecord r : records) {
            apps.add(r.sourceId());
            apps.add(r.destinationId());
        }
        Set<String> allowed;
        try {
            allowed = spaces.appsDevelopedBy(Scopes.subject(), apps);
        } catch (RuntimeException e) {
            log.atWarn().setMessage("filter policies failed").addKeyValue("user", Scopes.subject()).addKeyValue("error", e.getMessage()).log();
            throw new ApiError(HttpStatus.INTERNAL_SERVER_ERROR, "filter policies failed");
        }
        return records.stream().filter(r -> allowed.contains(r.sourceId()) && allowed.contains(r.destinationId())).toList();
    }

    @GetMapping("/tags")
    public PolicyJson.Tags tags(@PathVariable String version) {
        supported(version);
        Scopes.require(Scopes.ADMIN);
        return new PolicyJson.Tags(tags.all().stream()
                .map(t -> new PolicyJson.Tag(t.id(), PolicyJson.tag(t.tag()), t.type())).toList());
    }

    /** Comma-separated ids; blanks dropped. */
    public static List<String> split(String csv) {
        if (csv == null || csv.isBlank()) {
            return List.of();
        }
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
