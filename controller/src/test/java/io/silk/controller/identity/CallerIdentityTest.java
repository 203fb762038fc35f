package io.silk.controller.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Context;
import io.silk.controller.grpc.Refusal;
import io.silk.controller.testing.TestPki;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;

class CallerIdentityTest {

    static X509Certificate load(java.nio.file.Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    @Test
    void certificatesNameCellsAndOperators() throws Exception {
        assertThat(ClientCertificateInterceptor.identify(load(TestPki.cell("10.0.0.9").certificate()), List.of("silk-operator")))
                .isEqualTo(new CallerIdentity.Cell("10.0.0.9"));
        assertThat(ClientCertificateInterceptor.identify(load(TestPki.operator().certificate()), List.of("silk-operator")))
                .isEqualTo(new CallerIdentity.Operator("silk-operator"));
        // An operator name that is not configured carries no rights.
        assertThat(ClientCertificateInterceptor.identify(load(TestPki.operator().certificate()), List.of("someone-else")))
                .isInstanceOf(CallerIdentity.Anonymous.class);
    }

    static String actAs(CallerIdentity who, String requested) throws Exception {
        return Context.current().withValue(CallerIdentity.CONTEXT_KEY, who)
                .call(() -> CallerIdentity.cellToActOn(requested, "renew lease"));
    }

    @Test
    void cellsActOnlyOnTheirOwnLease() throws Exception {
        assertThat(actAs(new CallerIdentity.Cell("10.0.0.9"), "")).isEqualTo("10.0.0.9");
        assertThat(actAs(new CallerIdentity.Cell("10.0.0.9"), "10.0.0.9")).isEqualTo("10.0.0.9");
        assertThatThrownBy(() -> actAs(new CallerIdentity.Cell("10.0.0.9"), "10.0.0.8"))
                .isInstanceOfSatisfying(Refusal.class,
                        e -> assertThat(e.reason()).isEqualTo(Refusal.Reason.FORBIDDEN));
        assertThat(actAs(new CallerIdentity.Operator("op"), "10.0.0.8")).isEqualTo("10.0.0.8");
        assertThatThrownBy(() -> actAs(new CallerIdentity.Operator("op"), ""))
                .hasMessageContaining("underlay_ip is required");
        assertThatThrownBy(() -> actAs(new CallerIdentity.Anonymous("no cert"), "10.0.0.8"))
                .isInstanceOfSatisfying(Refusal.class,
                        e -> assertThat(e.reason()).isEqualTo(Refusal.Reason.UNAUTHENTICATED));
    }
}
