package io.silk.testing;

import java.time.Duration;

/** Waits for a condition that something else reaches on threads of its own (a daemon, a replica); fails with what was awaited. */
public final class Eventually {

    private Eventually() {}

    /** A condition that may throw while it is checked (an HTTP call, a query): thrown is failed. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    public static void await(String what, Condition condition) {
        await(what, Duration.ofSeconds(10), condition);
    }

    public static void await(String what, Duration limit, Condition condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!holds(condition)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + limit + ": " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(5); // polling interval, not a wait for a race
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted awaiting " + what);
            }
        }
    }

    private static boolean holds(Condition condition) {
        try {
            return condition.holds();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new AssertionError("checking a condition: " + e, e);
        }
    }
}
