package io.silk.daemon.policy.nftables;

/**
 * The seam to the kernel's nftables: scripts in nft's own language, each one run as a single
 * atomic transaction (all of it takes effect or none). {@link LibNftables} is the real adapter;
 * the backend above it is tested against the kernel through it.
 */
public interface Nftables extends AutoCloseable {

    /** Runs the script as one transaction; throws {@link NftablesException} with nft's message. */
    void run(String script);

    /** Changes set elements in one transaction; throws {@link NftablesException} and changes nothing when refused. */
    void elements(Transaction tx);

    /** Runs a read-only command (e.g. {@code list set inet silk c2c_port}) and returns nft's JSON output. */
    String json(String command);

    @Override
    void close();
}
