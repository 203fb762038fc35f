package io.silk.daemon;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition the daemon reaches on threads of its own; fails with what was awaited. */
public final class Eventually {

    private Eventually() {}

    public static void await(String what, BooleanSupplier condition) {
        await(what, Duration.ofSeconds(10), condition);
    }

    public static void await(String what, Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
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
}
