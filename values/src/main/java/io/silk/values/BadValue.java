package io.silk.values;

/**
 * A value that does not parse, with a message in the caller's terms that names the field and
 * quotes the input shortened ({@link Quote}), so an error built from it stays small whatever the
 * input's size. Each edge turns it into its own kind of error (gRPC status, CNI code, HTTP 400).
 */
public final class BadValue extends IllegalArgumentException {

    public BadValue(String message) {
        super(message, null);
    }

    /** "{what} {quoted text} {problem}", e.g. {@code underlay_ip "10.0.0" is not an IPv4 address (a.b.c.d)}. */
    public static BadValue of(String what, String text, String problem) {
        return new BadValue(what + " " + Quote.shortened(text) + " " + problem);
    }
}
