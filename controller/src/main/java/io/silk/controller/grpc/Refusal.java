package io.silk.controller.grpc;

/**
 * A call the controller refuses, with a message that says what to do. The gRPC layer maps the
 * reason to a status code; the message goes to the caller as it is.
 */
public final class Refusal extends RuntimeException {

    public enum Reason {
        /** Malformed input: INVALID_ARGUMENT. */
        INVALID,
        /** Renew of a lease that disagrees with the database: FAILED_PRECONDITION, not retriable. */
        MISMATCH,
        /** No free subnet and nothing expired to reclaim: RESOURCE_EXHAUSTED. */
        EXHAUSTED,
        /** The caller may not touch this lease: PERMISSION_DENIED. */
        FORBIDDEN,
        /** New leases are held back while cells renew theirs into a new database: UNAVAILABLE, retry. */
        FENCED,
        /** No usable client certificate: UNAUTHENTICATED. */
        UNAUTHENTICATED
    }

    private final Reason reason;

    public Refusal(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    public static Refusal invalid(String message) {
        return new Refusal(Reason.INVALID, message);
    }

    /** The same rejection with context in front: "acquire lease for cell 10.0.0.5: ...". */
    public Refusal in(String context) {
        return new Refusal(reason, context + ": " + getMessage());
    }
}
