package io.silk.controller.feed;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The event logs, their feeds and watches (prefix {@code silk.controller.event-log}), the same for
 * every log. The defaults here are the only ones; docs/configuration.md describes each key.
 *
 * @param replayBuffer       events each feed keeps in memory for watches resuming a little behind
 * @param watchQueueLimit    messages queued for one slow watcher before it is cut off (it resumes)
 * @param retention          how long a tombstone (a DELETED event) is kept for watches resuming from old revisions
 * @param supersededKeep     how long an event superseded by a later one for the same thing is kept
 * @param compactionInterval how often compaction runs (one replica at a time)
 * @param identityRecheck    how often a connected feed looks again at which database it reads (one
 *                           replaced without its connection breaking: a schema dropped and recreated)
 */
@ConfigurationProperties("silk.controller.event-log")
public record EventLogProperties(
        Integer replayBuffer,
        Integer watchQueueLimit,
        Duration retention,
        Duration supersededKeep,
        Duration compactionInterval,
        Duration identityRecheck) {

    public EventLogProperties {
        replayBuffer = replayBuffer == null ? 100_000 : replayBuffer;
        watchQueueLimit = watchQueueLimit == null ? 10_000 : watchQueueLimit;
        retention = retention == null ? Duration.ofHours(24) : retention;
        supersededKeep = supersededKeep == null ? Duration.ofHours(1) : supersededKeep;
        compactionInterval = compactionInterval == null ? Duration.ofMinutes(10) : compactionInterval;
        identityRecheck = identityRecheck == null ? Duration.ofSeconds(5) : identityRecheck;
    }
}
