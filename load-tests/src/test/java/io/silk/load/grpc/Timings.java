package io.silk.load.grpc;

/**
 * Reports a timing to Gatling's stats engine under a request name of its own, as if it were a
 * request: how streamed messages (a watch's events) show up in the reports and the assertions.
 */
@FunctionalInterface
public interface Timings {

    /** {@code error} is null for OK, else the reason the timing counts as KO. */
    void record(String name, long startMillis, long endMillis, String error);
}
