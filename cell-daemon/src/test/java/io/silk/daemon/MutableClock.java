package io.silk.daemon;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

/** Time that moves only when a test says so. */
public final class MutableClock implements InstantSource {

    private volatile Instant now = Instant.parse("2030-01-01T00:00:00Z");

    @Override
    public Instant instant() {
        return now;
    }

    public void advance(Duration d) {
        now = now.plus(d);
    }
}
