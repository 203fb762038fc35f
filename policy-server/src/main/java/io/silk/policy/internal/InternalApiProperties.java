package io.silk.policy.internal;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * cf's internal policy API for third-party enforcement agents (prefix
 * {@code silk.policy-server.internal}): its own port, mutual TLS only.
 *
 * @param port        0 or unset: off; Cloud Foundry's policy server uses 4003
 * @param certificate PEM server certificate chain
 * @param privateKey  PEM private key of the certificate
 * @param clientCa    PEM CA bundle the agents' client certificates must chain to
 */
@ConfigurationProperties("silk.policy-server.internal")
public record InternalApiProperties(Integer port, Path certificate, Path privateKey, Path clientCa) {
    public InternalApiProperties {
        port = port == null ? 0 : port;
    }

    public boolean enabled() {
        return port > 0;
    }
}
