package io.silk.netlink;

/** An IPv4 address on a link; {@code peer} differs from {@code local} on point-to-point links. */
public record Address(int linkIndex, String local, String peer, int prefix) {}
