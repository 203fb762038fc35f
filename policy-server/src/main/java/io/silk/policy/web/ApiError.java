package io.silk.policy.web;

import org.springframework.http.HttpStatus;

/** A refusal with cf-networking's status and message; rendered as {"error": message}. */
public final class ApiError extends RuntimeException {

    private final HttpStatus status;

    public ApiError(HttpStatus status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public HttpStatus status() {
        return status;
    }

    public static ApiError badRequest(String message) {
        return new ApiError(HttpStatus.BAD_REQUEST, message);
    }

    public static ApiError forbidden(String message) {
        return new ApiError(HttpStatus.FORBIDDEN, message);
    }
}
