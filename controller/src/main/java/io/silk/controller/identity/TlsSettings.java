package io.silk.controller.identity;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationListener;
import org.springframework.core.env.MapPropertySource;

/**
 * Turns silk.controller.tls into Spring gRPC's server SSL settings (a PEM SSL bundle, client
 * certificates optional at the TLS layer so health checks work without one; the lease service
 * refuses callers whose certificate names neither a cell nor an operator). Checks the files
 * first, so a missing one fails start-up with the property to fix. With TLS off nothing is
 * loaded. Registered in META-INF/spring.factories: it must run before the context exists.
 */
public class TlsSettings implements ApplicationListener<ApplicationEnvironmentPreparedEvent> {

    private static final Logger log = LoggerFactory.getLogger(TlsSettings.class);

    @Override
    public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
        var env = event.getEnvironment();
        TlsProperties tls = Binder.get(env).bind("silk.controller.tls", TlsProperties.class)
                .orElseGet(() -> new TlsProperties(null, null, null, null, null));
        Map<String, Object> derived = new HashMap<>();
        if (!tls.enabled()) {
            log.warn("gRPC TLS is OFF (silk.controller.tls.enabled=false): every caller is trusted; local development only");
            derived.put("spring.grpc.server.ssl.enabled", "false");
        } else {
            requireFile(tls.certificate(), "certificate");
            requireFile(tls.privateKey(), "private-key");
            requireFile(tls.trust(), "trust");
            derived.put("spring.grpc.server.ssl.enabled", "true");
            derived.put("spring.grpc.server.ssl.bundle", "silk-grpc");
            derived.put("spring.grpc.server.ssl.client-auth", "optional");
            derived.put("spring.ssl.bundle.pem.silk-grpc.keystore.certificate", "file:" + tls.certificate());
            derived.put("spring.ssl.bundle.pem.silk-grpc.keystore.private-key", "file:" + tls.privateKey());
            derived.put("spring.ssl.bundle.pem.silk-grpc.truststore.certificate", "file:" + tls.trust());
        }
        env.getPropertySources().addLast(new MapPropertySource("silk-controller-tls", derived));
    }

    private static void requireFile(Path path, String property) {
        if (!Files.isReadable(path)) {
            throw new IllegalStateException("silk.controller.tls." + property + ": " + path + " is missing or unreadable. "
                    + "Issue certificates (docs/operations.md) or, for local development only, set silk.controller.tls.enabled=false");
        }
    }
}
