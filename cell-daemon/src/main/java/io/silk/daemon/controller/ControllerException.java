package io.silk.daemon.controller;

/** A controller call that did not succeed, in the daemon's terms. */
public final class ControllerException extends RuntimeException {

    public enum Kind {
        /** No replica answered in time (or the circuit is open): keep going on what the cell has. */
        UNREACHABLE,
        /** The lease no longer belongs to this cell (another subnet, or the subnet is another cell's). */
        LOST,
        /** The controller answered no for another reason (permission, invalid lease, no free subnet). */
        REFUSED
    }

    private final Kind kind;

    public ControllerException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
