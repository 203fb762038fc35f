package io.silk.controller.lease;

import com.google.protobuf.Timestamp;
import io.silk.proto.v1.Lease;
import java.time.Instant;

/** A lease as callers see it. */
public record LeaseView(String underlayIp, String subnet, String vtepMac, Instant expiresAt, long revision) {

    static LeaseView of(LeaseRecord r) {
        return new LeaseView(r.underlayIp(), r.subnet(), r.vtepMac(), r.expiresAt(), r.revision());
    }

    public static LeaseView of(LeaseEventRecord e) {
        return new LeaseView(e.underlayIp(), e.subnet(), e.vtepMac(), e.expiresAt(), e.revision());
    }

    public Lease toProto() {
        return Lease.newBuilder().setUnderlayIp(underlayIp).setOverlaySubnet(subnet)
                .setOverlayHardwareAddr(vtepMac).setRevision(revision)
                .setExpiresAt(Timestamp.newBuilder().setSeconds(expiresAt.getEpochSecond()).setNanos(expiresAt.getNano()))
                .build();
    }
}
