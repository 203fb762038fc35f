package io.silk.policy.auth;

import io.silk.policy.PolicyServerProperties;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.StrictHttpFirewall;

/**
 * OAuth2 bearer tokens (JWT; keys from spring.security.oauth2.resourceserver.jwt.jwk-set-uri or
 * public-key-location). Scope checks happen per route ({@link Scopes}) so refusals read as
 * cf-networking's. In local-development mode there are no tokens and every caller is an admin.
 */
@Configuration(proxyBeanMethods = false)
public class SecurityConfiguration {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfiguration.class);

    @Bean
    SecurityFilterChain api(HttpSecurity http, PolicyServerProperties properties, ObjectProvider<JwtDecoder> decoder)
            throws Exception {
        http.csrf(c -> c.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .exceptionHandling(e -> e.authenticationEntryPoint(unauthorized()).accessDeniedHandler(denied()));
        if (properties.localDevelopment()) {
            log.warn("silk.policy-server.local-development=true: no tokens are checked and every caller is network.admin;"
                    + " local development only");
            http.anonymous(a -> a.principal("local-development").authorities("SCOPE_" + Scopes.ADMIN))
                    .authorizeHttpRequests(a -> a.anyRequest().permitAll());
            return http.build();
        }
        JwtDecoder tokens = decoder.getIfAvailable();
        if (tokens == null) {
            throw new IllegalStateException("policy server: no token verification is configured. Set "
                    + "spring.security.oauth2.resourceserver.jwt.jwk-set-uri (or .public-key-location), or, for local "
                    + "development only, silk.policy-server.local-development=true");
        }
        http.authorizeHttpRequests(a -> a
                        .requestMatchers("/", "/health", "/actuator/health/**", "/openapi.yaml").permitAll()
                        // Served only on the internal port, where Tomcat has checked the client certificate (InternalPort).
                        .requestMatchers("/networking/v1/internal/**").permitAll()
                        .anyRequest().authenticated())
                .oauth2ResourceServer(o -> o.bearerTokenResolver(new HeaderBearerToken()).jwt(j -> j.decoder(new VerifiedTokens(tokens))).authenticationEntryPoint(unauthorized()));
        return http.build();
    }

    /**
     * What a token must carry besides a good signature and time window: an expiry ({@code exp};
     * without one it would be good for ever), and, when configured, the issuer
     * (silk.policy-server.token-issuer, e.g. UAA's https://uaa.example.com/oauth/token) and one
     * of the audiences (silk.policy-server.token-audiences). Spring Boot adds this validator to
     * the decoder it builds, after its default (timestamp) checks.
     */
    @Bean
    OAuth2TokenValidator<Jwt> tokenClaims(PolicyServerProperties properties) {
        List<OAuth2TokenValidator<Jwt>> checks = new ArrayList<>();
        checks.add(jwt -> jwt.getExpiresAt() == null ? failure("the token has no expiry (exp)") : OAuth2TokenValidatorResult.success());
        if (properties.tokenIssuer() != null) {
            String issuer = properties.tokenIssuer();
            checks.add(jwt -> issuer.equals(jwt.getClaimAsString("iss")) ? OAuth2TokenValidatorResult.success()
                    : failure("the token's issuer is not " + issuer));
        }
        if (!properties.tokenAudiences().isEmpty()) {
            List<String> audiences = properties.tokenAudiences();
            checks.add(jwt -> jwt.getAudience() != null && jwt.getAudience().stream().anyMatch(audiences::contains)
                    ? OAuth2TokenValidatorResult.success() : failure("the token is not for " + String.join(" or ", audiences)));
        }
        return new DelegatingOAuth2TokenValidator<>(checks);
    }

    private static OAuth2TokenValidatorResult failure(String description) {
        return OAuth2TokenValidatorResult.failure(new OAuth2Error(OAuth2ErrorCodes.INVALID_TOKEN, description, null));
    }

    /**
     * No Spring Security observations: even with them disabled by property, its decorator wrapped
     * every filter of every request in a (no-op) observation, about a tenth of the CPU under load.
     * Requests are still measured (http.server.requests).
     */
    @Bean
    SecurityObservationSettings securityObservations() {
        return SecurityObservationSettings.noObservations();
    }

    /**
     * Spring Security's firewall with its own rule for header names and values (assigned Unicode
     * characters, no ISO controls), checked with a loop instead of its regex: it runs on every read
     * of a header, and the Authorization header (a JWT of about a kilobyte) is read several times
     * per request — a tenth of the CPU under load.
     */
    @Bean
    HttpFirewall firewall() {
        StrictHttpFirewall firewall = new StrictHttpFirewall();
        firewall.setAllowedHeaderNames(SecurityConfiguration::assignedAndNotIsoControl);
        firewall.setAllowedHeaderValues(SecurityConfiguration::assignedAndNotIsoControl);
        return firewall;
    }

    /** The same as StrictHttpFirewall's pattern {@code [\p{IsAssigned}&&[^\p{IsControl}]]*}. */
    static boolean assignedAndNotIsoControl(String s) {
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            if (!Character.isDefined(c) || Character.isISOControl(c)) {
                return false;
            }
            i += Character.charCount(c);
        }
        return true;
    }

    static AuthenticationEntryPoint unauthorized() {
        return (request, response, e) -> {
            String header = request.getHeader("Authorization");
            response.setHeader("WWW-Authenticate", "Bearer");
            write(response, HttpServletResponse.SC_UNAUTHORIZED,
                    header == null || header.isBlank() ? "missing authorization header" : "failed to verify token: " + e.getMessage());
        };
    }

    static AccessDeniedHandler denied() {
        return (request, response, e) -> write(response, HttpServletResponse.SC_FORBIDDEN, e.getMessage());
    }

    private static void write(HttpServletResponse response, int status, String message) throws IOException {
        response.setStatus(status);
        response.setContentType("application/json");
        String escaped = message.replace("\\", "\\\\").replace("\"", "\\\"");
        response.getWriter().write("{\"error\":\"" + escaped + "\"}");
    }

}
