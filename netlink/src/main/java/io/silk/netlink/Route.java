package io.silk.netlink;

/**
 * An IPv4 route in the main table. {@code gateway} and {@code source} may be null; {@code protocol}
 * marks who made it (the daemon uses its own number so it only ever removes its own routes).
 */
public record Route(String destination, int prefix, String gateway, String source, int linkIndex, int protocol) {}
