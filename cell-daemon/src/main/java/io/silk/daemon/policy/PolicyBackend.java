package io.silk.daemon.policy;

import io.silk.proto.v1.PolicyChange;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where the cell's policy is enforced: {@link io.silk.daemon.policy.nftables.NftablesBackend} (the
 * default) or {@link IptablesBackend}. The watcher above needs only this, so its logic is tested
 * without a kernel.
 */
public interface PolicyBackend {

    /**
     * Puts what the backend needs in place (the table, or the jumps from the built-in chains) without
     * changing what is enforced. Returns true when the kernel had no silk rules before: a fresh cell,
     * which may enforce default deny before the first snapshot.
     */
    boolean prepare();

    /** Makes the kernel enforce exactly these inputs, atomically: allowed traffic sees no gap. */
    void apply(PolicyRules.Inputs inputs);

    /**
     * Policies created or deleted since the last apply or change, the cell otherwise the same.
     * {@code after} gives the whole inputs with the changes, for a backend that needs them; a
     * backend that changes only what the changes touch need not ask for it.
     */
    default void change(List<PolicyChange> changes, Supplier<PolicyRules.Inputs> after) {
        apply(after.get());
    }

    /** Writes again what the backend last applied, repairing rules removed behind its back. */
    default void reconcile() {}

    /** Removes every rule, chain, table and hook silk made; returns how many chains were removed. */
    int removeAll();
}
