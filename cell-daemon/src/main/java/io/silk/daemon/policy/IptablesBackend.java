package io.silk.daemon.policy;

/**
 * The policy on iptables: rendered by {@link PolicyRules}, written by {@link Iptables} as one
 * atomic iptables-restore per table, rewriting only the chains that changed since the last apply.
 */
public final class IptablesBackend implements PolicyBackend {

    private final Iptables iptables;
    /** What the kernel has from this process; null after a start: the first apply writes everything. */
    private PolicyRules.Rendered inKernel;

    public IptablesBackend(Iptables iptables) {
        this.iptables = iptables;
    }

    @Override
    public synchronized boolean prepare() {
        boolean fresh = !iptables.save("filter").contains(":" + PolicyRules.FORWARD_CHAIN + " ");
        iptables.ensureHooks();
        return fresh;
    }

    @Override
    public synchronized void apply(PolicyRules.Inputs inputs) {
        PolicyRules.Rendered now = PolicyRules.render(inputs);
        String changes = now.diff(inKernel);
        if (!changes.isEmpty()) {
            iptables.restore(changes);
        }
        iptables.drop(now.dropped(inKernel));
        inKernel = now;
    }

    @Override
    public synchronized int removeAll() {
        inKernel = null;
        return iptables.removeAll();
    }
}
