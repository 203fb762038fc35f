package io.silk.controller.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.values.Ipv4Network;
import org.junit.jupiter.api.Test;

class OverlayPoolTest {

    private static Ipv4Network net(String text) {
        return Ipv4Network.parse(text, "x");
    }

    @Test
    void offersOnlyItsOwnSubnetsAtItsPrefixAndNeverSubnetZero() {
        OverlayPool pool = OverlayPool.of(net("10.255.0.0/16"), 24);
        assertThat(pool.size()).isEqualTo(255);
        assertThat(pool.offers(net("10.255.0.0/24"))).as("subnet 0").isFalse();
        assertThat(pool.offers(net("10.255.1.0/24"))).isTrue();
        assertThat(pool.offers(net("10.255.1.0/25"))).as("another prefix").isFalse();
        assertThat(pool.offers(net("10.255.1.0/28"))).as("another prefix").isFalse();
        assertThat(pool.offers(net("192.168.7.0/24"))).as("outside the network").isFalse();
        assertThat(OverlayPool.of(net("10.0.0.0/8"), 24).size()).isEqualTo(65_535);
    }

    @Test
    void singleIpsAreTheAddressesOfSubnetZeroButItsFirst() {
        OverlayPool pool = OverlayPool.of(net("10.255.0.0/16"), 24);
        assertThat(pool.singleIpBlock()).isEqualTo(net("10.255.0.0/24"));
        assertThat(pool.singleIpCount()).isEqualTo(255);
        assertThat(pool.offersSingleIp(net("10.255.0.1/32"))).isTrue();
        assertThat(pool.offersSingleIp(net("10.255.0.255/32"))).as("the block's last address, as in Silk").isTrue();
        assertThat(pool.offersSingleIp(net("10.255.0.0/32"))).as("the network address").isFalse();
        assertThat(pool.offersSingleIp(net("10.255.1.1/32"))).as("outside subnet 0").isFalse();
        assertThat(pool.offersSingleIp(net("10.255.0.0/31"))).as("not a /32").isFalse();
        assertThat(pool.offers(net("10.255.0.1/32"))).as("not a cell's subnet").isFalse();
    }

    @Test
    void refusesAConfigurationThatCannotWork() {
        assertThatThrownBy(() -> OverlayPool.of(net("10.255.0.0/16"), 16)).hasMessageContaining("subnet-prefix 16");
        assertThatThrownBy(() -> new LeaseProperties("10.255.0.1/16", 24, null, null, null).pool())
                .hasMessageContaining("silk.controller.lease.network").hasMessageContaining("host bits");
    }
}
