package io.silk.daemon.policy.nftables;

/** A transaction or listing nftables refused; nothing of a refused transaction took effect. */
public final class NftablesException extends RuntimeException {

    public NftablesException(String message) {
        super(message);
    }

    public NftablesException(String message, Throwable cause) {
        super(message, cause);
    }
}
