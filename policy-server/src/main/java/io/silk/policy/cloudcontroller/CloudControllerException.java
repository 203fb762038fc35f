package io.silk.policy.cloudcontroller;

/** A call to the Cloud Controller or UAA that failed; the message says which and how. */
public final class CloudControllerException extends RuntimeException {

    public CloudControllerException(String message) {
        super(message);
    }

    public CloudControllerException(String message, Throwable cause) {
        super(message, cause);
    }
}
