package io.silk.policy.web;

import io.silk.policy.PolicyServerProperties;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses bodies over silk.policy-server.max-request-bytes (cf-networking: 400, "failed reading
 * request body"). Many clients write the whole body before they read the answer, and any answer
 * given before the body was read (this one, or a 400 for malformed JSON) reaches them only if the
 * server reads the rest of the body first: a server that closes instead leaves them with a broken
 * pipe. Tomcat does that reading ("swallowing") after the response, up to its max swallow size,
 * which {@link Swallowing} sets to {@link #SWALLOW_FACTOR} times the limit.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
public class RequestSizeLimit extends OncePerRequestFilter {

    static final int SWALLOW_FACTOR = 8;

    private final long max;

    public RequestSizeLimit(PolicyServerProperties properties) {
        this.max = properties.maxRequestBytes();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getContentLengthLong() > max) {
            response.setStatus(HttpServletResponse.SC_BAD_REQUEST);
            response.setContentType("application/json");
            response.getWriter().write("{\"error\":\"" + message(max) + "\"}");
            return;
        }
        chain.doFilter(new Limited(request, max), response);
    }

    /**
     * Tomcat's max swallow size from the limit. Ordered last, so that it wins over Spring Boot's
     * own setting (server.tomcat.max-swallow-size, 2 MB by default).
     */
    @Component
    static final class Swallowing implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {
        private final long max;

        Swallowing(PolicyServerProperties properties) {
            this.max = properties.maxRequestBytes();
        }

        @Override
        public void customize(TomcatServletWebServerFactory factory) {
            long swallow = Math.min(Integer.MAX_VALUE, max * SWALLOW_FACTOR);
            factory.addConnectorCustomizers(connector -> connector.setProperty("maxSwallowSize", Long.toString(swallow)));
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST_PRECEDENCE;
        }
    }

    public static String message(long max) {
        return "failed reading request body: larger than " + max + " bytes";
    }

    /** A body without a Content-Length ran over the limit (ErrorBodies answers it as the filter does). */
    public static final class TooLarge extends IOException {
        private final long max;

        TooLarge(long max) {
            super(message(max));
            this.max = max;
        }

        public long max() {
            return max;
        }
    }

    /** Bodies without a Content-Length (chunked) are cut off at the limit too. */
    private static final class Limited extends HttpServletRequestWrapper {
        private final long max;

        Limited(HttpServletRequest request, long max) {
            super(request);
            this.max = max;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            ServletInputStream in = super.getInputStream();
            return new ServletInputStream() {
                long read;

                @Override
                public int read() throws IOException {
                    int b = in.read();
                    if (b >= 0 && ++read > max) {
                        throw tooLarge();
                    }
                    return b;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    int n = in.read(buf, off, len);
                    if (n > 0 && (read += n) > max) {
                        throw tooLarge();
                    }
                    return n;
                }

                private TooLarge tooLarge() {
                    return new TooLarge(max);
                }

                @Override
                public boolean isFinished() {
                    return in.isFinished();
                }

                @Override
                public boolean isReady() {
                    return in.isReady();
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    in.setReadListener(listener);
                }
            };
        }
    }
}
