package io.silk.controller.identity;

import io.grpc.Context;
import io.silk.controller.grpc.Refusal;
import io.silk.values.Quote;

/** Who is calling, as the client certificate says. */
public sealed interface CallerIdentity {

    Context.Key<CallerIdentity> CONTEXT_KEY = Context.key("silk-caller-identity");

    /** A cell daemon; its certificate names its underlay IP. */
    record Cell(String underlayIp) implements CallerIdentity {}

    /** An operator: may list, acquire, renew and release any lease. */
    record Operator(String name) implements CallerIdentity {}

    /** TLS is off (local development only): every caller is trusted as an operator. */
    record Plaintext() implements CallerIdentity {}

    /** No certificate, or one that names neither a cell nor an operator. */
    record Anonymous(String why) implements CallerIdentity {}

    static CallerIdentity current() {
        CallerIdentity id = CONTEXT_KEY.get();
        return id == null ? new Anonymous("no identity was established for this call") : id;
    }

    /**
     * The cell a lease call may act on. Cells act only on their own lease (and may leave the IP
     * out); operators must name the cell.
     */
    static String cellToActOn(String requestedIp, String action) {
        CallerIdentity caller = current();
        String requested = requestedIp == null ? "" : requestedIp.trim();
        return switch (caller) {
            case Cell cell -> {
                if (!requested.isEmpty() && !requested.equals(cell.underlayIp())) {
                    throw new Refusal(Refusal.Reason.FORBIDDEN, action + ": the client certificate names cell "
                            + cell.underlayIp() + ", which may not act on the lease of " + Quote.shortened(requested));
                }
                yield cell.underlayIp();
            }
            case Operator op -> requireNamed(requested, action);
            case Plaintext p -> requireNamed(requested, action);
            case Anonymous anon -> throw new Refusal(Refusal.Reason.UNAUTHENTICATED, action + ": " + anon.why());
        };
    }

    /** The caller, for logs and messages: "cell 10.0.0.5", "operator ops". */
    static String describe() {
        return switch (current()) {
            case Cell cell -> "cell " + cell.underlayIp();
            case Operator op -> "operator " + op.name();
            case Plaintext p -> "a plaintext caller";
            case Anonymous anon -> "an anonymous caller";
        };
    }

    /** For reads any authenticated caller may make (List, Watch). */
    static void requireAuthenticated(String action) {
        if (current() instanceof Anonymous anon) {
            throw new Refusal(Refusal.Reason.UNAUTHENTICATED, action + ": " + anon.why());
        }
    }

    private static String requireNamed(String requested, String action) {
        if (requested.isEmpty()) {
            throw Refusal.invalid(action + ": underlay_ip is required when the caller is not a cell");
        }
        return requested;
    }
}
