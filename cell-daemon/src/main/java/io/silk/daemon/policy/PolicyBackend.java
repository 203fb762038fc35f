package io.silk.daemon.policy;

/**
 * Where the cell's policy is enforced. {@link IptablesBackend} renders it for iptables; the
 * watcher above needs only this, so its logic is tested without a kernel.
 */
public interface PolicyBackend {

    /**
     * Puts the hooks in place (the jumps from the built-in chains). Returns true when the kernel had
     * no silk rules before: a fresh cell, which may enforce default deny before the first snapshot.
     */
    boolean prepare();

    /** Makes the kernel enforce exactly these inputs, atomically: allowed traffic sees no gap. */
    void apply(PolicyRules.Inputs inputs);

    /** Removes every rule, chain and hook silk made; returns how many chains were removed. */
    int removeAll();
}
