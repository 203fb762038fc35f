package io.silk.policy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HeaderRuleTest {

    /** StrictHttpFirewall's own rule for header names and values. */
    private static final Pattern FIREWALL = Pattern.compile("[\\p{IsAssigned}&&[^\\p{IsControl}]]*");

    @Test
    void theLoopAgreesWithTheFirewallsPatternOnEveryCodePoint() {
        for (int c = 0; c <= Character.MAX_CODE_POINT; c++) {
            String s = "Bearer a" + new String(Character.toChars(c)) + "b";
            assertThat(SecurityConfiguration.assignedAndNotIsoControl(s)).as("U+%04X", c).isEqualTo(FIREWALL.matcher(s).matches());
        }
        assertThat(SecurityConfiguration.assignedAndNotIsoControl("")).isTrue();
        assertThat(SecurityConfiguration.assignedAndNotIsoControl("x\uD800y")).isEqualTo(FIREWALL.matcher("x\uD800y").matches());
    }
}
