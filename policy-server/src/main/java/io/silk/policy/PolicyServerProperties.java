package io.silk.policy;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Prefix {@code silk.policy-server}.
 *
 * @param maxPoliciesPerSource how many policies one source app may have (network.write callers; admins are exempt)
 * @param maxRequestBytes      the largest request body accepted
 * @param localDevelopment     no tokens: every caller is network.admin. Local development only.
 * @param tokenIssuer          when set, a token's {@code iss} must equal it
 * @param tokenAudiences       when set, a token's {@code aud} must hold one of them
 */
@ConfigurationProperties("silk.policy-server")
public record PolicyServerProperties(Integer maxPoliciesPerSource, Long maxRequestBytes, Boolean localDevelopment,
        String tokenIssuer, List<String> tokenAudiences) {
    public PolicyServerProperties {
        tokenIssuer = tokenIssuer == null || tokenIssuer.isBlank() ? null : tokenIssuer;
        tokenAudiences = tokenAudiences == null ? List.of() : List.copyOf(tokenAudiences);
        maxPoliciesPerSource = maxPoliciesPerSource == null ? 150 : maxPoliciesPerSource;
        maxRequestBytes = maxRequestBytes == null ? 10L << 20 : maxRequestBytes;
        localDevelopment = localDevelopment != null && localDevelopment;
    }
}
