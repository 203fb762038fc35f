package io.silk.policy;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Prefix {@code silk.policy-server}.
 *
 * @param maxPoliciesPerSource how many policies one source app may have (network.write callers; admins are exempt)
 * @param maxRequestBytes      the largest request body accepted
 * @param localDevelopment     no tokens: every caller is network.admin. Local development only.
 */
@ConfigurationProperties("silk.policy-server")
public record PolicyServerProperties(Integer maxPoliciesPerSource, Long maxRequestBytes, Boolean localDevelopment) {
    public PolicyServerProperties {
        maxPoliciesPerSource = maxPoliciesPerSource == null ? 150 : maxPoliciesPerSource;
        maxRequestBytes = maxRequestBytes == null ? 10L << 20 : maxRequestBytes;
        localDevelopment = localDevelopment != null && localDevelopment;
    }
}
