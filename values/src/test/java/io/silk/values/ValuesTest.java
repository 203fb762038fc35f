package io.silk.values;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ValuesTest {

    @Test
    void ipv4AddressesParseStrictly() {
        assertThat(Ipv4Address.parse("10.255.17.2", "ip").toString()).isEqualTo("10.255.17.2");
        assertThat(Ipv4Address.parse("255.255.255.255", "ip").bits()).isEqualTo(-1);
        for (String bad : new String[] {"", "10.0.0", "10.0.0.0.1", "10.0.0.", ".10.0.0", "10.0.01.1", "10.0.0.256",
                "1234.0.0.1", "a.b.c.d", "10..0.1", " 10.0.0.1"}) {
            assertThatThrownBy(() -> Ipv4Address.parse(bad, "underlay_ip")).as(bad).isInstanceOf(BadValue.class)
                    .hasMessageStartingWith("underlay_ip ");
        }
        assertThat(Ipv4Address.of(Ipv4Address.parse("1.2.3.4", "ip").bytes())).isEqualTo(Ipv4Address.parse("1.2.3.4", "ip"));
    }

    @Test
    void networksRejectHostBitsAndSuggestTheNetwork() {
        Ipv4Network n = Ipv4Network.parse("10.255.0.0/16", "network");
        assertThat(n.contains(Ipv4Network.parse("10.255.17.0/24", "s"))).isTrue();
        assertThat(n.contains(Ipv4Network.parse("10.254.0.0/24", "s"))).isFalse();
        assertThat(n.contains(Ipv4Address.parse("10.255.1.9", "a"))).isTrue();
        assertThat(Ipv4Network.containing(Ipv4Address.parse("10.255.34.7", "a"), 24).toString()).isEqualTo("10.255.34.0/24");
        assertThatThrownBy(() -> Ipv4Network.parse("10.255.1.1/16", "network"))
                .hasMessage("network \"10.255.1.1/16\" has host bits set; did you mean 10.255.0.0/16?");
        assertThatThrownBy(() -> Ipv4Network.parse("10.255.0.0/33", "network")).hasMessageContaining("above 32");
        assertThatThrownBy(() -> Ipv4Network.parse("10.255.0.0", "network")).hasMessageContaining("CIDR");
    }

    @Test
    void longInputIsQuotedShortened() {
        String huge = "1".repeat(10_240);
        assertThatThrownBy(() -> Ipv4Address.parse(huge, "underlay_ip"))
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200).contains("(10240 chars)"));
        assertThat(Quote.shortened("a\"b\n")).isEqualTo("\"a\\\"b\\u000a\"");
    }

    @Test
    void silkMacsFollowSilksRules() {
        assertThat(SilkMacs.vtep(Ipv4Network.parse("10.255.17.0/24", "s")).toString()).isEqualTo("ee:ee:0a:ff:11:00");
        Ipv4Address c = Ipv4Address.parse("10.255.17.2", "c");
        assertThat(SilkMacs.hostSide(c).toString()).isEqualTo("aa:aa:0a:ff:11:02");
        assertThat(SilkMacs.containerSide(c).toString()).isEqualTo("ee:ee:0a:ff:11:02");
        assertThat(SilkMacs.isVtepPrefixed(SilkMacs.vtep(Ipv4Network.parse("10.255.17.0/24", "s")))).isTrue();
        assertThat(SilkMacs.isVtepPrefixed(SilkMacs.hostSide(c))).isFalse();
        assertThat(SilkMacs.isVtepPrefixed(MacAddress.parse("ee:ef:0a:ff:11:00", "m"))).isFalse();
        MacAddress m = MacAddress.parse("EE:EE:0A:FF:11:00", "mac");
        assertThat(m.toString()).isEqualTo("ee:ee:0a:ff:11:00");
        assertThat(MacAddress.of(m.bytes())).isEqualTo(m);
        assertThatThrownBy(() -> MacAddress.parse("ee:ee:0a:ff:11", "mac")).isInstanceOf(BadValue.class);
        assertThatThrownBy(() -> MacAddress.parse("ee-ee-0a-ff-11-00", "mac")).isInstanceOf(BadValue.class);
    }
}
