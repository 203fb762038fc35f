package io.silk.controller.lease;

import java.time.Instant;
import org.springframework.data.annotation.Id;
import org.springframework.data.relational.core.mapping.Table;

/** A row of {@code lease}, with the Postgres network types read as text. */
@Table("lease")
public record LeaseRecord(
        @Id String underlayIp,
        String subnet,
        String vtepMac,
        Instant expiresAt,
        boolean expired,
        long revision) {}
