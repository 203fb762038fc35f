package io.silk.policy.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;

class VerifiedTokensTest {

    static Jwt jwt(String token, Instant expires) {
        return Jwt.withTokenValue(token).header("alg", "RS256").subject("op").issuedAt(expires.minusSeconds(600))
                .expiresAt(expires).build();
    }

    @Test
    void aTokenIsVerifiedOnceThenRememberedByItsBytes() {
        AtomicInteger verified = new AtomicInteger();
        VerifiedTokens tokens = new VerifiedTokens(t -> {
            verified.incrementAndGet();
            return jwt(t, Instant.now().plusSeconds(600));
        });
        assertThat(tokens.decode("a").getTokenValue()).isEqualTo("a");
        assertThat(tokens.decode("a").getTokenValue()).isEqualTo("a");
        assertThat(verified).hasValue(1);
        tokens.decode("b");
        assertThat(verified).hasValue(2);
    }

    @Test
    void anExpiredTokenGoesBackToTheDecoderAndGetsItsRefusal() {
        AtomicInteger calls = new AtomicInteger();
        // Expired beyond the 60 s clock skew the first time it is remembered.
        VerifiedTokens tokens = new VerifiedTokens(t -> {
            if (calls.incrementAndGet() > 1) {
                throw new BadJwtException("Jwt expired");
            }
            return jwt(t, Instant.now().minusSeconds(120));
        });
        tokens.decode("old");
        assertThatThrownBy(() -> tokens.decode("old")).isInstanceOf(BadJwtException.class).hasMessageContaining("expired");
        assertThat(calls).hasValue(2);
    }

    @Test
    void refusedTokensAreNotRemembered() {
        AtomicInteger calls = new AtomicInteger();
        VerifiedTokens tokens = new VerifiedTokens(t -> {
            calls.incrementAndGet();
            throw new BadJwtException("bad signature");
        });
        assertThatThrownBy(() -> tokens.decode("forged")).isInstanceOf(BadJwtException.class);
        assertThatThrownBy(() -> tokens.decode("forged")).isInstanceOf(BadJwtException.class);
        assertThat(calls).hasValue(2);
    }
}
