package io.silk.controller.identity;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * mTLS for the gRPC server (prefix {@code silk.controller.tls}). Client certificates are checked
 * against {@code trust}; a certificate names a cell by an IP SAN (or an IP as its CN), or an
 * operator by a CN listed in {@code operatorNames}.
 *
 * @param enabled       false only for local development: then every caller is trusted
 * @param certificate   PEM server certificate chain
 * @param privateKey    PEM (PKCS#8) private key of the server certificate
 * @param trust         PEM CA bundle that client certificates must chain to
 * @param operatorNames certificate common names that carry operator rights
 */
@ConfigurationProperties("silk.controller.tls")
public record TlsProperties(Boolean enabled, Path certificate, Path privateKey, Path trust, List<String> operatorNames) {

    public TlsProperties {
        enabled = enabled == null || enabled;
        certificate = certificate == null ? Path.of("/etc/silk/controller/tls/server.pem") : certificate;
        privateKey = privateKey == null ? Path.of("/etc/silk/controller/tls/server-key.pem") : privateKey;
        trust = trust == null ? Path.of("/etc/silk/controller/tls/ca.pem") : trust;
        operatorNames = operatorNames == null ? List.of("silk-operator") : List.copyOf(operatorNames);
    }
}
