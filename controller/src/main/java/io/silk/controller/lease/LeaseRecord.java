package io.silk.controller.lease;

import com.google.protobuf.Timestamp;
import io.silk.proto.v1.Lease;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.time.Instant;

/**
 * A row of {@code lease}: a cell's subnet, its VTEP MAC, until when it is routable without a
 * renew, whether its expiry was written, and the revision of its last event.
 */
public record LeaseRecord(
        Ipv4Address cell,
        Ipv4Network subnet,
        MacAddress vtepMac,
        Instant expiresAt,
        boolean expired,
        long revision) {

    public Lease toProto() {
        return proto(cell, subnet, vtepMac, expiresAt, revision);
    }

    static Lease proto(Ipv4Address cell, Ipv4Network subnet, MacAddress mac, Instant expiresAt, long revision) {
        return Lease.newBuilder().setUnderlayIp(cell.toString()).setOverlaySubnet(subnet.toString())
                .setOverlayHardwareAddr(mac.toString()).setRevision(revision)
                .setExpiresAt(Timestamp.newBuilder().setSeconds(expiresAt.getEpochSecond()).setNanos(expiresAt.getNano()))
                .build();
    }
}
