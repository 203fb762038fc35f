package io.silk.policy.cloudcontroller;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * A Cloud Controller to follow (prefix {@code silk.policy-server.cloud-controller}). Without
 * {@code api} there is none: our security-group API is the source of the groups and network.write
 * callers are not limited to their spaces.
 *
 * @param api                 the Cloud Controller's API, e.g. {@code https://api.sys.example.com}; unset: no Cloud Controller
 * @param internalApi         its internal API with mutual TLS (cf: {@code https://cloud-controller-ng.service.cf.internal:9023}),
 *                            where {@code /internal/v4/asg_latest_update} is; unset: asked at {@code api}
 * @param internalCertificate PEM client certificate for the internal API
 * @param internalPrivateKey  PEM private key of that certificate
 * @param uaaUrl              UAA, e.g. {@code https://uaa.service.cf.internal:8443}; required with {@code api}
 * @param clientId            the UAA client (client-credentials grant; cf: {@code network-policy}, with authority
 *                            {@code cloud_controller.admin_read_only})
 * @param clientSecret        its secret; required with {@code api}
 * @param caCertificate       PEM bundle trusted for the Cloud Controller, its internal API and UAA; unset: the JDK's
 * @param skipTlsValidation   trust any certificate and name (cf's {@code skip_ssl_validation}); never in production
 * @param pollInterval        how often the syncer asks whether the groups changed (cf: 60 s)
 * @param requestTimeout      connect and answer time limit of each call
 * @param syncSecurityGroups  false: no syncer (the space check still asks the Cloud Controller), our API stays writable
 */
@ConfigurationProperties("silk.policy-server.cloud-controller")
public record CloudControllerProperties(URI api, URI internalApi, Path internalCertificate, Path internalPrivateKey, URI uaaUrl,
        String clientId, String clientSecret, Path caCertificate, Boolean skipTlsValidation, Duration pollInterval,
        Duration requestTimeout, Boolean syncSecurityGroups) {

    public CloudControllerProperties {
        api = blank(api) ? null : api;
        internalApi = blank(internalApi) ? null : internalApi;
        uaaUrl = blank(uaaUrl) ? null : uaaUrl;
        clientId = clientId == null || clientId.isBlank() ? "network-policy" : clientId;
        skipTlsValidation = skipTlsValidation != null && skipTlsValidation;
        pollInterval = pollInterval == null ? Duration.ofSeconds(60) : pollInterval;
        requestTimeout = requestTimeout == null ? Duration.ofSeconds(10) : requestTimeout;
        syncSecurityGroups = syncSecurityGroups == null || syncSecurityGroups;
    }

    /** A Cloud Controller is configured. */
    public boolean enabled() {
        return api != null;
    }

    /** Our security groups are the Cloud Controller's (and our API for them is read-only). */
    public boolean syncing() {
        return enabled() && syncSecurityGroups;
    }

    /** The start-up refusals: what a configured Cloud Controller lacks. */
    void check() {
        String prefix = "silk.policy-server.cloud-controller: ";
        if (uaaUrl == null || clientSecret == null || clientSecret.isBlank()) {
            throw new IllegalStateException(prefix + "uaa-url and client-secret are required with api (" + api + ")");
        }
        if ((internalCertificate == null) != (internalPrivateKey == null)) {
            throw new IllegalStateException(prefix + "internal-certificate and internal-private-key go together");
        }
        if (!pollInterval.isPositive() || !requestTimeout.isPositive()) {
            throw new IllegalStateException(prefix + "poll-interval and request-timeout must be positive");
        }
        for (URI u : new URI[] {api, internalApi, uaaUrl}) {
            if (u != null && (u.getHost() == null || !("https".equals(u.getScheme()) || "http".equals(u.getScheme())))) {
                throw new IllegalStateException(prefix + u + " is not an http(s) URL with a host");
            }
        }
    }

    private static boolean blank(URI u) {
        return u == null || u.toString().isBlank();
    }
}
