package io.silk.controller.feed;

/**
 * The replica cannot serve this call yet (its database has not answered since it started, or a
 * feed has not read its log once): callers are told UNAVAILABLE and retry.
 */
public final class NotReady extends RuntimeException {
    public NotReady(String message) {
        super(message, null, false, false);
    }
}
