package io.silk.daemon.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rendering, without a kernel: what each policy turns into. */
class PolicyRulesTest {

    static final C2CPolicy A_TO_B = C2CPolicy.newBuilder().setId(1).setSourceId("app-a").setSourceTag(1)
            .setDestinationId("app-b").setDestinationTag(2).setProtocol("tcp").setStartPort(8080).setEndPort(8080).build();

    static PolicyRules.Inputs inputs(List<C2CPolicy> c2c, List<EgressPolicy> egress, boolean log) {
        return new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16",
                List.of(new PolicyRules.LocalContainer("10.255.1.2", "app-a"), new PolicyRules.LocalContainer("10.255.1.3", "app-b"),
                        new PolicyRules.LocalContainer("10.255.1.4", "")), c2c, egress, log);
    }

    @Test
    void marksIngressAllowsDefaultDenyAndMasquerade() {
        String rules = PolicyRules.render(inputs(List.of(A_TO_B), List.of(), false)).full();
        assertThat(rules).contains(
                "-A silk-mark -s 10.255.1.2/32 -j MARK --set-xmark 0x1/0xffff\n",
                "-A silk-mark -s 10.255.1.3/32 -j MARK --set-xmark 0x2/0xffff\n",
                "-A silk-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
                "-A silk-forward -d 10.255.1.3/32 -j silk-in-10.255.1.3\n",
                "-A silk-in-10.255.1.3 -p tcp -m tcp --dport 8080 -m mark --mark 0x1/0xffff -j ACCEPT\n",
                "-A silk-forward -d 10.255.1.0/24 -j REJECT --reject-with icmp-port-unreachable\n",
                "-A silk-forward -s 10.255.1.0/24 -d 10.255.0.0/16 -j ACCEPT\n",
                "-A silk-forward -s 10.255.1.0/24 -j REJECT --reject-with icmp-port-unreachable\n",
                "-A silk-masquerade -s 10.255.1.0/24 ! -d 10.255.0.0/16 -j MASQUERADE\n");
        // A container of no app gets no mark; the allow comes before the deny.
        assertThat(rules).doesNotContain("-s 10.255.1.4/32 -j MARK");
        assertThat(rules.indexOf("-A silk-forward -d 10.255.1.3/32 -j silk-in-10.255.1.3"))
                .isLessThan(rules.indexOf("-A silk-forward -d 10.255.1.0/24 -j REJECT"));
        assertThat(rules.split("COMMIT", -1)).hasSize(4);
    }

    @Test
    void aChangeRewritesOnlyTheChainsItConcerns() {
        var before = PolicyRules.render(inputs(List.of(A_TO_B), List.of(), false));
        C2CPolicy other = A_TO_B.toBuilder().setId(2).setStartPort(9090).setEndPort(9090).build();
        var after = PolicyRules.render(inputs(List.of(A_TO_B, other), List.of(), false));
        String diff = after.diff(before);
        assertThat(diff).isEqualTo("*filter\n:silk-in-10.255.1.3 - [0:0]\n"
                + "-A silk-in-10.255.1.3 -p tcp -m tcp --dport 8080 -m mark --mark 0x1/0xffff -j ACCEPT\n"
                + "-A silk-in-10.255.1.3 -p tcp -m tcp --dport 9090 -m mark --mark 0x1/0xffff -j ACCEPT\n"
                + "COMMIT\n");
        assertThat(after.diff(after)).isEmpty();
        var fewer = PolicyRules.render(new PolicyRules.Inputs("10.255.1.0/24", "10.255.0.0/16",
                List.of(new PolicyRules.LocalContainer("10.255.1.2", "app-a")), List.of(A_TO_B), List.of(), false));
        assertThat(fewer.dropped(after).get("filter"))
                .containsExactly("silk-in-10.255.1.3", "silk-out-10.255.1.3", "silk-in-10.255.1.4", "silk-out-10.255.1.4");
    }

    @Test
    void egressRangesPortsIcmpAndLogging() {
        EgressPolicy https = EgressPolicy.newBuilder().setId(1).setSourceId("app-a").setSourceTag(1).setProtocol("tcp")
                .setStartIp("203.0.113.0").setEndIp("203.0.113.255").setStartPort(443).setEndPort(443).setIcmpType(-1).setIcmpCode(-1).build();
        EgressPolicy ping = EgressPolicy.newBuilder().setId(2).setSourceId("app-a").setSourceTag(1).setProtocol("icmp")
                .setStartIp("198.51.100.1").setEndIp("198.51.100.1").setIcmpType(8).setIcmpCode(-1).build();
        String rules = PolicyRules.render(inputs(List.of(), List.of(https, ping), true)).full();
        assertThat(rules).contains(
                "-A silk-forward -s 10.255.1.2/32 -j silk-out-10.255.1.2\n",
                "-A silk-out-10.255.1.2 -m iprange --dst-range 203.0.113.0-203.0.113.255 -p tcp -m tcp --dport 443 -j ACCEPT\n",
                "-A silk-out-10.255.1.2 -m iprange --dst-range 198.51.100.1-198.51.100.1 -p icmp -m icmp --icmp-type 8 -j ACCEPT\n",
                "-j LOG --log-prefix \"silk-deny-in \"", "-j LOG --log-prefix \"silk-deny-out \"");
        assertThat(rules).doesNotContain("-A silk-out-10.255.1.3 -m iprange");
    }
}
