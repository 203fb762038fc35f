package io.silk.controller.lease;

import java.time.Instant;
import org.springframework.data.annotation.Id;
import org.springframework.data.relational.core.mapping.Table;

/** A row of {@code lease_event}: one change to one lease, at one revision. */
@Table("lease_event")
public record LeaseEventRecord(
        @Id long revision,
        String kind,
        String underlayIp,
        String subnet,
        String vtepMac,
        Instant expiresAt) {

    public static final String UPSERTED = "UPSERTED";
    public static final String DELETED = "DELETED";
    public static final String EXPIRED = "EXPIRED";
}
