package io.silk.policy.web;

import org.springframework.http.HttpStatus;

/** A refusal with cf-networking's status and message; rendered as {"error": message}. */
public final class ApiError extends RuntimeException {

    private final HttpStatus status;
    private final java.util.Map<String, String> headers;

    public ApiError(HttpStatus status, String message) {
        this(status, message, java.util.Map.of());
    }

    public ApiError(HttpStatus status, String message, java.util.Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.headers = java.util.Map.copyOf(headers);
    }

    public HttpStatus status() {
        return status;
    }

    /** Response headers the refusal needs (405's Allow). */
    public java.util.Map<String, String> headers() {
        return headers;
    }

    public static ApiError badRequest(String message) {
        return new ApiError(HttpStatus.BAD_REQUEST, message);
    }

    public static ApiError forbidden(String message) {
        return new ApiError(HttpStatus.FORBIDDEN, message);
    }
}
