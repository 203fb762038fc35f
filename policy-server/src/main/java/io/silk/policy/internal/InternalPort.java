package io.silk.policy.internal;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.file.Files;
import org.apache.catalina.connector.Connector;
import org.apache.coyote.http11.Http11NioProtocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The internal API's own port: a second Tomcat connector with mutual TLS (Tomcat refuses a client
 * without a certificate the CA signed, before any request), and a filter that keeps each API on its
 * own port — the internal paths only on the internal port, nothing else there.
 */
@Configuration(proxyBeanMethods = false)
public class InternalPort {

    public static final String PATHS = "/networking/v1/internal/";

    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> internalConnector(InternalApiProperties internal) {
        return factory -> {
            if (!internal.enabled()) {
                return;
            }
            for (var file : new java.nio.file.Path[] {internal.certificate(), internal.privateKey(), internal.clientCa()}) {
                if (file == null || !Files.isReadable(file)) {
                    throw new IllegalStateException("silk.policy-server.internal: certificate, private-key and client-ca are"
                            + " required for the internal API's mutual TLS (missing or unreadable: " + file + ")");
                }
            }
            Connector connector = new Connector(Http11NioProtocol.class.getName());
            connector.setPort(internal.port());
            connector.setScheme("https");
            connector.setSecure(true);
            Http11NioProtocol protocol = (Http11NioProtocol) connector.getProtocolHandler();
            protocol.setSSLEnabled(true);
            SSLHostConfig ssl = new SSLHostConfig();
            ssl.setProtocols("TLSv1.2+TLSv1.3");
            ssl.setCertificateVerification("required");
            ssl.setTrustStore(trustStore(internal.clientCa()));
            SSLHostConfigCertificate cert = new SSLHostConfigCertificate(ssl, SSLHostConfigCertificate.Type.UNDEFINED);
            cert.setCertificateFile(internal.certificate().toString());
            cert.setCertificateKeyFile(internal.privateKey().toString());
            ssl.addCertificate(cert);
            connector.addSslHostConfig(ssl);
            factory.addAdditionalConnectors(connector);
        };
    }

    /** The client CA bundle as a trust store (Tomcat's JSSE takes a PEM bundle only through one). */
    static java.security.KeyStore trustStore(java.nio.file.Path pem) {
        try (var in = Files.newInputStream(pem)) {
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(null, null);
            int i = 0;
            for (var cert : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + i++, cert);
            }
            if (i == 0) {
                throw new IllegalStateException("silk.policy-server.internal.client-ca: " + pem + " holds no certificate");
            }
            return store;
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException("silk.policy-server.internal.client-ca: read " + pem + ": " + e.getMessage(), e);
        }
    }

    /** Before every other filter (Spring Security's too): a path on the wrong port is simply not there. */
    @Bean
    org.springframework.boot.web.servlet.FilterRegistrationBean<OncePerRequestFilter> internalPaths(InternalApiProperties internal) {
        var registration = new org.springframework.boot.web.servlet.FilterRegistrationBean<OncePerRequestFilter>(onItsOwnPort(internal));
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }

    private static OncePerRequestFilter onItsOwnPort(InternalApiProperties internal) {
        return new OncePerRequestFilter() {
            @Override
            protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                    throws ServletException, IOException {
                boolean onInternalPort = internal.enabled() && request.getLocalPort() == internal.port();
                boolean internalPath = request.getRequestURI().startsWith(PATHS);
                if (onInternalPort != internalPath) {
                    response.setStatus(404);
                    response.setContentType("application/json");
                    response.getWriter().write("{\"error\":\"" + (internalPath ? "the internal API is served on its own port only"
                            : "only the internal API is served on this port") + "\"}");
                    return;
                }
                chain.doFilter(request, response);
            }
        };
    }
}
