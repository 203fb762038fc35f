package io.silk.policy.policy;

import io.silk.policy.auth.Scopes;
import io.silk.policy.policy.PolicyJson.Policies;
import io.silk.policy.policy.PolicyJson.PoliciesPayload;
import io.silk.policy.tag.TagRepository;
import io.silk.policy.web.ApiError;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** /networking/v1/external/policies and /tags, as cf-networking serves them. */
@RestController
@RequestMapping("/networking/{version}/external")
public class PolicyApi {

    private final PolicyBook book;
    private final TagRepository tags;

    public PolicyApi(PolicyBook book, TagRepository tags) {
        this.book = book;
        this.tags = tags;
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
        book.create(body == null ? null : body.policies(), !Scopes.isAdmin());
        return Map.of();
    }

    @PostMapping("/policies/delete")
    public Map<String, Object> delete(@PathVariable String version, @RequestBody(required = false) Policies body) {
        supported(version);
        Scopes.require(Scopes.ADMIN, Scopes.WRITE);
        book.delete(body == null ? null : body.policies());
        return Map.of();
    }

    @GetMapping("/policies")
    public PoliciesPayload list(@PathVariable String version,
            @RequestParam(name = "id", required = false) String id,
            @RequestParam(name = "source_id", required = false) String sourceId,
            @RequestParam(name = "dest_id", required = false) String destId) {
        supported(version);
        Scopes.require(Scopes.ADMIN, Scopes.WRITE);
        var found = book.list(split(id), split(sourceId), split(destId)).stream().map(PolicyRecord::toJson).toList();
        return new PoliciesPayload(found.size(), found);
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
