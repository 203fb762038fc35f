package io.silk.policy.securitygroup;

import io.silk.policy.auth.Scopes;
import io.silk.policy.cloudcontroller.CloudControllerProperties;
import io.silk.policy.policy.PolicyApi;
import io.silk.policy.securitygroup.SecurityGroupStore.Lifecycle;
import io.silk.policy.securitygroup.SecurityGroupStore.Stored;
import io.silk.policy.web.ApiError;
import io.silk.values.Quote;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * /networking/v1/external/security_groups: application security groups in the Cloud Controller
 * v3 resource shape (create, list with cf's filters and pagination, get, update, delete; bind and
 * unbind spaces for running and staging). network.admin only. Every change reaches cells through
 * the controller's policy stream. While the groups are synced from a Cloud Controller
 * ({@code silk.policy-server.cloud-controller}), it is the source: reads only here, writes 405.
 */
@RestController
@RequestMapping("/networking/{version}/external/security_groups")
public class SecurityGroupApi {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int MAX_PER_PAGE = 5_000;
    private static final String BASE = "/networking/v1/external/security_groups";

    private final SecurityGroupStore store;
    private final CloudControllerProperties cloudController;

    public SecurityGroupApi(SecurityGroupStore store, CloudControllerProperties cloudController) {
        this.store = store;
        this.cloudController = cloudController;
    }

    @PostMapping
    public ResponseEntity<Map<String, Object>> create(@PathVariable String version, @RequestBody(required = false) JsonNode body) {
        writable(version, "GET");
        JsonNode b = object(body);
        known(b, "name", "rules", "globally_enabled", "relationships");
        String name = name(b.get("name"));
        var rules = rules(b);
        JsonNode enabled = b.path("globally_enabled");
        UUID guid = UUID.randomUUID();
        store.put(new SecurityGroupStore.Group(guid, name, rules.text(), rules.entries(), flag(enabled, "running", false),
                flag(enabled, "staging", false)), spaces(b.path("relationships").path("running_spaces"), "running_spaces"),
                spaces(b.path("relationships").path("staging_spaces"), "staging_spaces"));
        return ResponseEntity.status(HttpStatus.CREATED).body(resource(found(guid)));
    }

    @GetMapping
    public Map<String, Object> list(@PathVariable String version, @RequestParam Map<String, String> query) {
        admin(version);
        int page = number(query.get("page"), 1, "page");
        int perPage = number(query.get("per_page"), 50, "per_page");
        if (perPage > MAX_PER_PAGE) {
            throw ApiError.badRequest("per_page must be between 1 and " + MAX_PER_PAGE);
        }
        for (String key : query.keySet()) {
            if (!List.of("page", "per_page", "guids", "names", "globally_enabled_running", "globally_enabled_staging",
                    "running_space_guids", "staging_space_guids").contains(key)) {
                throw ApiError.badRequest("unknown query parameter " + Quote.shortened(key));
            }
        }
        var filter = new SecurityGroupStore.Filter(PolicyApi.split(query.get("guids")).stream().map(SecurityGroupApi::uuidOrNone)
                .toList(), PolicyApi.split(query.get("names")), bool(query.get("globally_enabled_running")),
                bool(query.get("globally_enabled_staging")), PolicyApi.split(query.get("running_space_guids")),
                PolicyApi.split(query.get("staging_space_guids")));
        var found = store.list(filter, (page - 1) * perPage, perPage);
        long pages = Math.max(1, (found.total() + perPage - 1) / perPage);
        Map<String, Object> pagination = new LinkedHashMap<>();
        pagination.put("total_results", found.total());
        pagination.put("total_pages", pages);
        pagination.put("first", href(query, 1, perPage));
        pagination.put("last", href(query, pages, perPage));
        pagination.put("next", page < pages ? href(query, page + 1, perPage) : null);
        pagination.put("previous", page > 1 ? href(query, page - 1, perPage) : null);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pagination", pagination);
        out.put("resources", found.groups().stream().map(SecurityGroupApi::resource).toList());
        return out;
    }

    @GetMapping("/{guid}")
    public Map<String, Object> get(@PathVariable String version, @PathVariable String guid) {
        admin(version);
        return resource(found(uuid(guid)));
    }

    /** cf's update: name, globally_enabled (either flag) and rules (replaced whole) as given. */
    @PatchMapping("/{guid}")
    public Map<String, Object> update(@PathVariable String version, @PathVariable String guid,
            @RequestBody(required = false) JsonNode body) {
        writable(version, "GET");
        Stored now = found(uuid(guid));
        JsonNode b = object(body);
        known(b, "name", "rules", "globally_enabled");
        String name = b.has("name") ? name(b.get("name")) : now.name();
        var rules = b.has("rules") ? rules(b) : new Rules(now.rules(), SecurityGroupRules.parse(JSON.readTree(now.rules())));
        JsonNode enabled = b.path("globally_enabled");
        store.put(new SecurityGroupStore.Group(now.guid(), name, rules.text(), rules.entries(),
                flag(enabled, "running", now.runningDefault()), flag(enabled, "staging", now.stagingDefault())), List.of(), List.of());
        return resource(found(now.guid()));
    }

    @DeleteMapping("/{guid}")
    public ResponseEntity<Void> delete(@PathVariable String version, @PathVariable String guid) {
        writable(version, "GET");
        if (!store.delete(uuid(guid))) {
            throw notFound(guid);
        }
        return ResponseEntity.noContent().build();
    }

    @PostMapping("/{guid}/relationships/{lifecycle}")
    public Map<String, Object> bind(@PathVariable String version, @PathVariable String guid, @PathVariable String lifecycle,
            @RequestBody(required = false) JsonNode body) {
        writable(version, "");
        Lifecycle l = lifecycle(lifecycle);
        List<String> spaces = spaces(object(body), "body");
        if (store.bind(uuid(guid), spaces, l).isEmpty()) {
            throw notFound(guid);
        }
        Stored g = found(uuid(guid));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("data", data(l == Lifecycle.RUNNING ? g.runningSpaces() : g.stagingSpaces()));
        out.put("links", Map.of("self", Map.of("href", BASE + "/" + g.guid() + "/relationships/" + lifecycle)));
        return out;
    }

    @DeleteMapping("/{guid}/relationships/{lifecycle}/{space}")
    public ResponseEntity<Void> unbind(@PathVariable String version, @PathVariable String guid, @PathVariable String lifecycle,
            @PathVariable String space) {
        writable(version, "");
        Lifecycle l = lifecycle(lifecycle);
        UUID g = found(uuid(guid)).guid();
        if (store.unbind(g, List.of(space), l) == 0) {
            throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, "security group " + g + " is not bound to space "
                    + Quote.shortened(space) + " for " + l.sql());
        }
        return ResponseEntity.noContent().build();
    }

    // ---- the resource ---------------------------------------------------------------------------

    static Map<String, Object> resource(Stored g) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("guid", g.guid().toString());
        out.put("created_at", g.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        out.put("updated_at", g.updatedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        out.put("name", g.name());
        out.put("globally_enabled", Map.of("running", g.runningDefault(), "staging", g.stagingDefault()));
        out.put("rules", JSON.readTree(g.rules()));
        out.put("relationships", Map.of("staging_spaces", Map.of("data", data(g.stagingSpaces())),
                "running_spaces", Map.of("data", data(g.runningSpaces()))));
        out.put("links", Map.of("self", Map.of("href", BASE + "/" + g.guid())));
        return out;
    }

    private static List<Map<String, String>> data(List<String> spaces) {
        return spaces.stream().map(s -> Map.of("guid", s)).toList();
    }

    private static Map<String, String> href(Map<String, String> query, long page, int perPage) {
        StringBuilder q = new StringBuilder(BASE + "?page=" + page + "&per_page=" + perPage);
        query.forEach((k, v) -> {
            if (!k.equals("page") && !k.equals("per_page")) {
                q.append('&').append(k).append('=').append(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8));
            }
        });
        return Map.of("href", q.toString());
    }

    // ---- reading requests -----------------------------------------------------------------------

    private record Rules(String text, List<SecurityGroupRules.Entry> entries) {}

    private static Rules rules(JsonNode body) {
        JsonNode rules = body.get("rules");
        if (rules == null || rules.isNull()) {
            return new Rules("[]", List.of());
        }
        return new Rules(JSON.writeValueAsString(rules), SecurityGroupRules.parse(rules));
    }

    private static void admin(String version) {
        PolicyApi.supported(version);
        Scopes.require(Scopes.ADMIN);
    }

    /**
     * An admin's write, unless the groups are the Cloud Controller's: then they are changed there
     * (cf's own commands) and reach us through the syncer; a write here would last only until the
     * next change there. 405 with what the path still allows.
     */
    private void writable(String version, String allow) {
        admin(version);
        if (cloudController.syncing()) {
            throw new ApiError(HttpStatus.METHOD_NOT_ALLOWED, "security groups are synced from the Cloud Controller at "
                    + cloudController.api() + " and are read-only here: change them there (cf create-security-group,"
                    + " update-security-group, bind-security-group, ...)", Map.of("Allow", allow));
        }
    }

    private static JsonNode object(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.badRequest("the body must be a JSON object");
        }
        return body;
    }

    private static void known(JsonNode body, String... fields) {
        List<String> unknown = new ArrayList<>(body.propertyNames());
        unknown.removeAll(List.of(fields));
        if (!unknown.isEmpty()) {
            throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, "unknown field(s): " + Quote.shortened(String.join(", ", unknown)));
        }
    }

    private static String name(JsonNode name) {
        if (name == null || !name.isString() || name.asString().isBlank()) {
            throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, "name must be a non-empty string");
        }
        if (name.asString().length() > 250) {
            throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, "name " + Quote.shortened(name.asString())
                    + " is longer than 250 characters");
        }
        return name.asString();
    }

    private static boolean flag(JsonNode enabled, String field, boolean otherwise) {
        JsonNode v = enabled.get(field);
        if (v == null || v.isNull()) {
            return otherwise;
        }
        if (!v.isBoolean()) {
            throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, "globally_enabled." + field + " must be a boolean");
        }
        return v.asBoolean();
    }

    /** {"data": [{"guid": "..."}, ...]}: the space guids. */
    private static List<String> spaces(JsonNode relationship, String what) {
        if (relationship.isMissingNode() || relationship.isNull()) {
            return List.of();
        }
        JsonNode data = relationship.get("data");
        if (data == null || !data.isArray()) {
            throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, what + ": data must be a list of {\"guid\": SPACE}");
        }
        List<String> spaces = new ArrayList<>();
        for (JsonNode d : data) {
            JsonNode guid = d.get("guid");
            if (guid == null || !guid.isString() || guid.asString().isBlank() || guid.asString().length() > 255) {
                throw new ApiError(HttpStatus.UNPROCESSABLE_CONTENT, what + ": every entry needs a space guid of 1 to 255 characters");
            }
            spaces.add(guid.asString());
        }
        return spaces;
    }

    private static Lifecycle lifecycle(String relationship) {
        return switch (relationship) {
            case "running_spaces" -> Lifecycle.RUNNING;
            case "staging_spaces" -> Lifecycle.STAGING;
            default -> throw new ApiError(HttpStatus.NOT_FOUND, "no relationship " + Quote.shortened(relationship)
                    + ": running_spaces or staging_spaces");
        };
    }

    private Stored found(UUID guid) {
        return store.find(guid).orElseThrow(() -> notFound(guid.toString()));
    }

    private static ApiError notFound(String guid) {
        return new ApiError(HttpStatus.NOT_FOUND, "security group " + Quote.shortened(guid) + " not found");
    }

    private static UUID uuid(String guid) {
        try {
            return UUID.fromString(guid);
        } catch (IllegalArgumentException e) {
            throw notFound(guid);
        }
    }

    /** A guid filter that cannot be a group's matches none (as the Cloud Controller's filters do). */
    private static UUID uuidOrNone(String guid) {
        try {
            return UUID.fromString(guid);
        } catch (IllegalArgumentException e) {
            return new UUID(0, 0);
        }
    }

    private static Boolean bool(String v) {
        if (v == null) {
            return null;
        }
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw ApiError.badRequest("a globally_enabled filter is true or false, not " + Quote.shortened(v));
        };
    }

    private static int number(String v, int otherwise, String what) {
        if (v == null) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiError.badRequest(what + " must be a positive integer, not " + Quote.shortened(v));
    }
}
