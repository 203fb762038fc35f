package io.silk.policy.internal;

import io.silk.policy.policy.PolicyApi;
import io.silk.policy.policy.PolicyBook;
import io.silk.policy.policy.PolicyJson;
import io.silk.policy.policy.PolicyRecord;
import io.silk.policy.tag.TagRepository;
import io.silk.policy.web.ApiError;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * cf-networking's internal API, in its exact shapes, for third-party enforcement agents (on its own
 * mTLS port, {@link InternalPort}): the policies with their tags, and tags for groups that are not
 * apps (the router).
 */
@RestController
@RequestMapping("/networking/v1/internal")
public class InternalPolicyApi {

    /** cf's JSON: a tag is four hex digits. */
    public record Source(String id, String tag) {}

    public record Ports(int start, int end) {}

    public record Destination(String id, String tag, String protocol, Ports ports) {}

    public record Policy(Source source, Destination destination) {}

    public record Policies(List<Policy> policies) {}

    public record TagRequest(String id, String type) {}

    public record Tag(String id, String type, String tag) {}

    private final PolicyBook book;
    private final TagRepository tags;
    private final JdbcClient jdbc;

    public InternalPolicyApi(PolicyBook book, TagRepository tags, JdbcClient jdbc) {
        this.book = book;
        this.tags = tags;
        this.jdbc = jdbc;
    }

    /** Every policy, or those whose source or destination is one of {@code id} (comma-separated). */
    @GetMapping("/policies")
    public Policies policies(@RequestParam(name = "id", required = false) String id) {
        Map<String, Integer> tagOf = new HashMap<>();
        tags.all().forEach(t -> tagOf.put(t.id(), t.tag()));
        List<PolicyRecord> found = book.list(PolicyApi.split(id), List.of(), List.of());
        return new Policies(found.stream().map(p -> new Policy(new Source(p.sourceId(), hex(tagOf.get(p.sourceId()))),
                new Destination(p.destinationId(), hex(tagOf.get(p.destinationId())), p.protocol(),
                        new Ports(p.startPort(), p.endPort())))).toList());
    }

    /** The tag of a group ({"id": "INGRESS_ROUTER", "type": "router"}): the one it has, or a new one. */
    @PutMapping("/tags")
    public Tag tag(@RequestBody(required = false) TagRequest request) {
        if (request == null || request.id() == null || request.id().isBlank() || request.type() == null || request.type().isBlank()) {
            throw new ApiError(HttpStatus.BAD_REQUEST, "id and type are required");
        }
        if (request.id().length() > 255) {
            throw new ApiError(HttpStatus.BAD_REQUEST, "id is longer than 255 characters");
        }
        try {
            Integer tag = jdbc.sql("SELECT group_tag(?, ?)").param(request.id()).param(request.type()).query(Integer.class).single();
            return new Tag(request.id(), request.type(), hex(tag));
        } catch (DataAccessException e) {
            String state = e.getMostSpecificCause() instanceof java.sql.SQLException s ? s.getSQLState() : "";
            if ("SLK03".equals(state)) {
                throw new ApiError(HttpStatus.CONFLICT, e.getMostSpecificCause().getMessage().replaceFirst("(?s)^ERROR: ", "")
                        .replaceFirst("(?s)\\n.*", ""));
            }
            if ("SLK02".equals(state)) {
                throw new ApiError(HttpStatus.INSUFFICIENT_STORAGE, "all 65535 tags are in use");
            }
            throw e;
        }
    }

    private static String hex(Integer tag) {
        return tag == null ? "" : PolicyJson.tag(tag);
    }
}
