package io.silk.controller.identity;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.grpc.server.GlobalServerInterceptor;
import org.springframework.stereotype.Component;

/**
 * Reads the verified client certificate of each call and puts the caller's identity in the gRPC
 * context. Client certificates are optional at the TLS layer so that health checks work without
 * one; the lease service refuses anonymous callers with a message saying why.
 */
@Component
@GlobalServerInterceptor
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
public class ClientCertificateInterceptor implements ServerInterceptor {

    private static final int SAN_IP_ADDRESS = 7;

    private final TlsProperties tls;

    public ClientCertificateInterceptor(TlsProperties tls) {
        this.tls = tls;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        CallerIdentity identity = tls.enabled()
                ? identify(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION))
                : new CallerIdentity.Plaintext();
        Context ctx = Context.current().withValue(CallerIdentity.CONTEXT_KEY, identity);
        return Contexts.interceptCall(ctx, call, headers, next);
    }

    CallerIdentity identify(SSLSession session) {
        if (session == null) {
            return new CallerIdentity.Anonymous("the connection is not TLS");
        }
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return new CallerIdentity.Anonymous("a client certificate is required (none was presented)");
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
            return new CallerIdentity.Anonymous("a client certificate is required (none was presented)");
        }
        return identify(cert, tls.operatorNames());
    }

    static CallerIdentity identify(X509Certificate cert, List<String> operatorNames) {
        String cn = commonName(cert);
        if (cn != null && operatorNames.contains(cn)) {
            return new CallerIdentity.Operator(cn);
        }
        String ip = ipSan(cert);
        if (ip == null && cn != null && isIpv4(cn)) {
            ip = cn;
        }
        if (ip != null) {
            return new CallerIdentity.Cell(ip);
        }
        return new CallerIdentity.Anonymous("the client certificate (CN=" + cn + ") names neither a cell "
                + "(an IPv4 SAN, or an IPv4 address as CN) nor an operator (silk.controller.tls.operator-names)");
    }

    private static String commonName(X509Certificate cert) {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if ("CN".equalsIgnoreCase(rdn.getType())) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }

    private static String ipSan(X509Certificate cert) {
        try {
            var sans = cert.getSubjectAlternativeNames();
            if (sans == null) {
                return null;
            }
            for (List<?> san : sans) {
                if (((Integer) san.get(0)) == SAN_IP_ADDRESS && isIpv4(san.get(1).toString())) {
                    return san.get(1).toString();
                }
            }
        } catch (CertificateParsingException e) {
            return null;
        }
        return null;
    }

    private static boolean isIpv4(String text) {
        if (!text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            return false;
        }
        try {
            return InetAddress.ofLiteral(text).getAddress().length == 4;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
