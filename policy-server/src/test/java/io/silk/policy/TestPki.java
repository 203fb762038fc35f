package io.silk.policy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A throwaway PKI made with openssl: a CA ({@code ca.pem}), a server certificate for localhost
 * ({@code server.pem}, {@code server-key.pem}) and a client certificate ({@code client.pem},
 * {@code client-key.pem}).
 */
record TestPki(Path dir) {

    static TestPki make() throws Exception {
        TestPki pki = new TestPki(Files.createTempDirectory("silk-cc-pki"));
        pki.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=silk-test-ca", "-keyout", "ca-key.pem", "-out", "ca.pem");
        for (String[] who : new String[][] {{"server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                {"client", "/CN=policy-server", "extendedKeyUsage=clientAuth"}}) {
            pki.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", who[1],
                    "-keyout", who[0] + "-key.pem", "-out", who[0] + ".csr");
            Files.writeString(pki.dir.resolve(who[0] + ".ext"), who[2] + "\n");
            pki.openssl("x509", "-req", "-in", who[0] + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                    "-days", "2", "-extfile", who[0] + ".ext", "-out", who[0] + ".pem");
        }
        return pki;
    }

    Path file(String name) {
        return dir.resolve(name);
    }

    private void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + ": " + out);
        }
    }
}
