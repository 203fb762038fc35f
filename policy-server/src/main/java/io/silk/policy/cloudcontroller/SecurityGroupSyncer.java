package io.silk.policy.cloudcontroller;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.silk.policy.securitygroup.SecurityGroupRules;
import io.silk.policy.securitygroup.SecurityGroupStore;
import io.silk.policy.securitygroup.SecurityGroupStore.Mirrored;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Keeps our security groups equal to the Cloud Controller's, as cf-networking's
 * policy-server-asg-syncer does: every poll interval it asks for the Cloud Controller's mark of its
 * last security-group change, and only when that changed (or on the first poll, or when the Cloud
 * Controller has no such mark) pulls every group and makes ours equal in one transaction
 * ({@link SecurityGroupStore#mirror}): each group under the Cloud Controller's guid with its name,
 * rules, global flags and exactly its bindings; groups it no longer has go. The mark is read again
 * after the pull; if it moved meanwhile the listing may be torn (a group deleted between two pages
 * shifts the rest), so the pull is done again, at most three times per poll.
 *
 * <p>A Cloud Controller or UAA that fails leaves our groups as they are; the first failure of an
 * outage is logged at WARN, the recovery at INFO, the polls in between at DEBUG. A group whose
 * rules we cannot read is left as we have it (logged once).
 */
public final class SecurityGroupSyncer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SecurityGroupSyncer.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int ATTEMPTS = 3;

    /** How a poll ended (the {@code outcome} tag of {@code silk_security_group_sync_total}). */
    enum Outcome {
        /** The mark had not moved: nothing pulled. */
        UNCHANGED,
        /** Pulled; ours already equal, nothing written. */
        IN_SYNC,
        /** Pulled and ours changed to match. */
        APPLIED,
        /** The groups changed while being read, three times: tried again next poll. */
        UNSTABLE,
        /** The Cloud Controller, UAA or the database failed: ours left as they are. */
        FAILED;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final CloudControllerClient cc;
    private final SecurityGroupStore store;
    private final Duration interval;
    private final Map<Outcome, Counter> outcomes = new java.util.EnumMap<>(Outcome.class);
    private final AtomicLong lastSuccess = new AtomicLong();
    private final AtomicLong groups = new AtomicLong();
    private final Set<String> reportedRejections = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService timer;

    /** The mark of the Cloud Controller's groups ours were last made equal to. */
    private Optional<String> applied = Optional.empty();
    private int failures;
    private Instant failingSince;

    public SecurityGroupSyncer(CloudControllerClient cc, SecurityGroupStore store, Duration interval, MeterRegistry metrics) {
        this.cc = cc;
        this.store = store;
        this.interval = interval;
        for (Outcome o : Outcome.values()) {
            outcomes.put(o, Counter.builder("silk.security.group.sync").tag("outcome", o.tag())
                    .description("Polls of the Cloud Controller's security groups, by how they ended").register(metrics));
        }
        Gauge.builder("silk.security.group.sync.last.success", lastSuccess, AtomicLong::get).baseUnit("seconds")
                .description("When a poll last succeeded (Unix time; 0: not yet)").register(metrics);
        Gauge.builder("silk.security.group.sync.groups", groups, AtomicLong::get)
                .description("Security groups the Cloud Controller had at the last pull").register(metrics);
    }

    public void start() {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "security-group-syncer");
            t.setDaemon(true);
            return t;
        });
        log.atInfo().setMessage("security groups: following the Cloud Controller").addKeyValue("api", cc.api())
                .addKeyValue("poll_interval", every(interval)).log();
        timer.scheduleWithFixedDelay(this::poll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (timer != null) {
            timer.shutdownNow();
            timer.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** One poll; never throws (a throwing task would end the schedule). */
    synchronized Outcome poll() {
        Outcome outcome;
        try {
            outcome = sync();
        } catch (RuntimeException e) {
            outcome = Outcome.FAILED;
            failed("sync security groups from " + cc.api() + ": " + e.getMessage(), e);
        }
        outcomes.get(outcome).increment();
        if (outcome != Outcome.FAILED && outcome != Outcome.UNSTABLE) {
            lastSuccess.set(Instant.now().getEpochSecond());
            recovered();
        }
        return outcome;
    }

    private Outcome sync() {
        Optional<String> mark = cc.securityGroupsLastUpdate();
        if (mark.isPresent() && mark.equals(applied)) {
            log.atDebug().setMessage("security groups: unchanged").addKeyValue("last_update", mark.get()).log();
            return Outcome.UNCHANGED;
        }
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            List<JsonNode> pulled = cc.securityGroups();
            Optional<String> after = cc.securityGroupsLastUpdate();
            if (!after.equals(mark)) {
                log.atDebug().setMessage("security groups: changed while being read; reading again").addKeyValue("attempt", attempt)
                        .log();
                mark = after;
                continue;
            }
            List<Mirrored> wanted = new ArrayList<>();
            Set<UUID> keep = new HashSet<>();
            for (JsonNode g : pulled) {
                read(g, wanted, keep);
            }
            var result = store.mirror(wanted, keep);
            applied = mark;
            groups.set(pulled.size());
            if (result.changed()) {
                log.atInfo().setMessage("security groups: synced from the Cloud Controller")
                        .addKeyValue("groups", pulled.size()).addKeyValue("written", result.groupsWritten())
                        .addKeyValue("deleted", result.groupsDeleted()).addKeyValue("bound", result.bindingsMade())
                        .addKeyValue("unbound", result.bindingsUndone()).addKeyValue("last_update", mark.orElse("-")).log();
                return Outcome.APPLIED;
            }
            return Outcome.IN_SYNC;
        }
        failed("sync security groups from " + cc.api() + ": they changed while being read " + ATTEMPTS
                + " times in a row; trying again next poll", null);
        return Outcome.UNSTABLE;
    }

    /** One Cloud Controller group into {@code wanted}; one we cannot take is left as we have it ({@code keep}). */
    private void read(JsonNode g, List<Mirrored> wanted, Set<UUID> keep) {
        String guid = CloudControllerClient.text(g.get("guid"));
        UUID id = null;
        try {
            if (guid == null) {
                throw new IllegalArgumentException("it has no guid");
            }
            id = UUID.fromString(guid);
            String name = CloudControllerClient.text(g.get("name"));
            if (name == null || name.isBlank() || name.length() > 250) {
                throw new IllegalArgumentException("its name is not 1 to 250 characters");
            }
            JsonNode rules = g.get("rules");
            if (rules == null || rules.isNull()) {
                rules = JSON.createArrayNode();
            }
            List<SecurityGroupRules.Entry> entries = SecurityGroupRules.parse(rules);
            JsonNode enabled = g.path("globally_enabled");
            wanted.add(new Mirrored(new SecurityGroupStore.Group(id, name, JSON.writeValueAsString(rules), entries,
                    enabled.path("running").asBoolean(false), enabled.path("staging").asBoolean(false)),
                    spaces(g, "running_spaces"), spaces(g, "staging_spaces")));
        } catch (RuntimeException e) {
            if (id != null) {
                keep.add(id);
            }
            String why = "security group " + guid + " (" + CloudControllerClient.text(g.get("name")) + ") from the Cloud Controller"
                    + " is left as we have it: " + e.getMessage();
            if (reportedRejections.add(Objects.hash(guid, g.toString()) + why)) {
                log.atWarn().setMessage(why).log();
            }
        }
    }

    private static List<String> spaces(JsonNode g, String relationship) {
        JsonNode data = g.path("relationships").path(relationship).path("data");
        List<String> out = new ArrayList<>();
        if (data.isMissingNode() || data.isNull()) {
            return out;
        }
        if (!data.isArray()) {
            throw new IllegalArgumentException(relationship + ".data is not a list");
        }
        for (JsonNode d : data) {
            String space = CloudControllerClient.text(d.get("guid"));
            if (space == null || space.isBlank() || space.length() > 255) {
                throw new IllegalArgumentException("no 'guid' found for a " + relationship + " relationship");
            }
            out.add(space);
        }
        return out;
    }

    /** Logged at WARN once per outage; the polls after it at DEBUG. */
    private void failed(String message, Throwable e) {
        failures++;
        if (failingSince == null) {
            failingSince = Instant.now();
            log.atWarn().setMessage(message + "; keeping the security groups we have, trying again every " + every(interval))
                    .addKeyValue("api", cc.api()).log();
        } else {
            log.atDebug().setMessage(message).setCause(e).log();
        }
    }

    private static String every(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private void recovered() {
        if (failingSince != null) {
            log.atInfo().setMessage("security groups: syncing from the Cloud Controller again").addKeyValue("api", cc.api())
                    .addKeyValue("failed_polls", failures).addKeyValue("failing_since", failingSince).log();
        }
        failingSince = null;
        failures = 0;
    }
}
