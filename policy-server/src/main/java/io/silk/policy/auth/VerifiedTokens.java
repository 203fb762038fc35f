package io.silk.policy.auth;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;

/**
 * Verifies the signature of each distinct token once a minute instead of on every request: an
 * operator or a script sends the same token many times, and the RSA check was about a tenth of the
 * policy server's CPU under load. A token is remembered by its exact bytes (same bytes, same
 * signature, same claims), and its expiry is checked again on every use; an expired or unknown
 * token goes to the real decoder, so every refusal reads as before. A signing key withdrawn from
 * the JWK set stops being honoured within the minute (the JWK set itself is cached for longer).
 */
final class VerifiedTokens implements JwtDecoder {

    private static final long KEEP_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final int MAX_TOKENS = 10_000;

    private record Verified(Jwt jwt, long until) {}

    private final JwtDecoder decoder;
    private final OAuth2TokenValidator<Jwt> timestamps = new JwtTimestampValidator();
    private final ConcurrentHashMap<String, Verified> verified = new ConcurrentHashMap<>();

    VerifiedTokens(JwtDecoder decoder) {
        this.decoder = decoder;
    }

    @Override
    public Jwt decode(String token) throws JwtException {
        long now = System.nanoTime();
        Verified v = verified.get(token);
        if (v != null && now - v.until < 0 && !timestamps.validate(v.jwt).hasErrors()) {
            return v.jwt;
        }
        Jwt jwt = decoder.decode(token);
        if (verified.size() >= MAX_TOKENS) {
            verified.clear(); // many distinct tokens: start over rather than grow
        }
        verified.put(token, new Verified(jwt, now + KEEP_NANOS));
        return jwt;
    }
}
