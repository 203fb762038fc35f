package io.silk.controller.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CidrTest {

    @Test
    void parsesAndFormats() {
        Cidr c = Cidr.parse("10.255.17.0/24", "x");
        assertThat(c.prefix()).isEqualTo(24);
        assertThat(c).hasToString("10.255.17.0/24");
        assertThat(Cidr.parse("0.0.0.0/0", "x")).hasToString("0.0.0.0/0");
        assertThat(Cidr.parse("255.255.255.255/32", "x")).hasToString("255.255.255.255/32");
    }

    @Test
    void vtepMacIsEeEePlusTheBaseAddress() {
        assertThat(Cidr.parse("10.255.17.0/24", "x").vtepMac()).isEqualTo("ee:ee:0a:ff:11:00");
        assertThat(Cidr.parse("192.168.255.0/24", "x").vtepMac()).isEqualTo("ee:ee:c0:a8:ff:00");
    }

    @Test
    void containment() {
        Cidr net = Cidr.parse("10.255.0.0/16", "x");
        assertThat(net.contains(Cidr.parse("10.255.3.0/24", "x"))).isTrue();
        assertThat(net.contains(Cidr.parse("10.254.3.0/24", "x"))).isFalse();
        assertThat(net.contains(Cidr.parse("10.0.0.0/8", "x"))).isFalse();
    }

    @Test
    void rejectsMalformedInputNamingTheField() {
        assertThatThrownBy(() -> Cidr.parse("10.255.17.1/24", "overlay_subnet"))
                .hasMessageContaining("overlay_subnet").hasMessageContaining("did you mean 10.255.17.0/24");
        assertThatThrownBy(() -> Cidr.parse("10.255.17.0", "s")).hasMessageContaining("CIDR");
        assertThatThrownBy(() -> Cidr.parse("10.255.17.0/33", "s")).hasMessageContaining("above 32");
        assertThatThrownBy(() -> Cidr.parse("10.255.17.0/", "s")).hasMessageContaining("prefix length");
        assertThatThrownBy(() -> Cidr.parse("", "s")).hasMessageContaining("empty");
        for (String bad : new String[] {"1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3", "256.1.1.1"}) {
            assertThatThrownBy(() -> Ipv4.parse(bad, "underlay_ip")).as(bad)
                    .isInstanceOf(Refusal.class).hasMessageContaining("underlay_ip");
        }
        assertThat(Ipv4.format(Ipv4.parse("10.0.0.5", "x"))).isEqualTo("10.0.0.5");
    }

    @Test
    void poolSizeSkipsSubnetZero() {
        OverlayPool pool = OverlayPool.of(Cidr.parse("10.255.0.0/16", "x"), 24);
        assertThat(pool.size()).isEqualTo(255);
        assertThat(pool.offers(Cidr.parse("10.255.0.0/24", "x"))).isFalse();
        assertThat(pool.offers(Cidr.parse("10.255.1.0/24", "x"))).isTrue();
        assertThat(pool.offers(Cidr.parse("10.255.1.0/25", "x"))).isFalse();
        assertThat(OverlayPool.of(Cidr.parse("10.0.0.0/8", "x"), 24).size()).isEqualTo(65_535);
        assertThatThrownBy(() -> OverlayPool.of(Cidr.parse("10.255.0.0/16", "x"), 16))
                .hasMessageContaining("subnet-prefix 16");
    }
}
