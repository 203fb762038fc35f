package io.silk.policy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HeaderBearerTokenTest {

    /** DefaultBearerTokenResolver's pattern, which the fast path must never contradict. */
    private static final Pattern DEFAULT = Pattern.compile("^Bearer (?<token>[a-zA-Z0-9-._~+/]+=*)$", Pattern.CASE_INSENSITIVE);

    @Test
    void theFastPathAcceptsOnlyWhatTheDefaultPatternAccepts() {
        String[] headers = {"Bearer abc.DEF-ghi_jkl~mno+pqr/stu==", "Bearer a", "Bearer ", "Bearer =", "Bearer a=b", "Bearer a b",
            "Bearer a\u00e9", "Bearer a==", "Bearer  a", "bearer abc", "BEARER abc", "Bearer abc\n", "Basic abc", "Bearer a*b"};
        for (String h : headers) {
            boolean fast = h.startsWith("Bearer ") && HeaderBearerToken.wellFormed(h, "Bearer ".length());
            if (fast) {
                assertThat(DEFAULT.matcher(h).matches()).as(h).isTrue();
            }
        }
        assertThat(HeaderBearerToken.wellFormed("Bearer abc.def==", 7)).isTrue();
        assertThat(HeaderBearerToken.wellFormed("Bearer ==", 7)).isFalse();
        assertThat(HeaderBearerToken.wellFormed("Bearer a=b", 7)).isFalse();
    }
}
