package io.silk.e2e;

/** Every test of {@link PolicyEndToEndTest} again, with the daemons on {@code policy.backend=iptables}. */
class PolicyEndToEndIptablesTest extends PolicyEndToEndTest {
}
