package io.silk.controller.identity;

import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationListener;

/**
 * Checks the mTLS files before Spring loads them, so a missing file fails start-up with the
 * property to fix rather than a stack trace from the SSL bundle loader. Registered in
 * META-INF/spring.factories: it must run before the context exists.
 */
public class TlsFileCheck implements ApplicationListener<ApplicationEnvironmentPreparedEvent> {

    private static final Logger log = LoggerFactory.getLogger(TlsFileCheck.class);

    @Override
    public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
        Binder binder = Binder.get(event.getEnvironment());
        TlsProperties tls = binder.bind("silk.controller.tls", TlsProperties.class)
                .orElseGet(() -> new TlsProperties(null, null, null, null, null));
        if (!tls.enabled()) {
            log.warn("gRPC TLS is OFF (silk.controller.tls.enabled=false): every caller is trusted; local development only");
            return;
        }
        requireFile(tls.certificate(), "certificate");
        requireFile(tls.privateKey(), "private-key");
        requireFile(tls.trust(), "trust");
    }

    private static void requireFile(Path path, String property) {
        if (!Files.isReadable(path)) {
            throw new IllegalStateException("silk.controller.tls." + property + ": " + path + " is missing or unreadable. "
                    + "Issue certificates (docs/operations.md) or, for local development only, set silk.controller.tls.enabled=false");
        }
    }
}
