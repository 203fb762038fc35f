package io.silk.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * curl as a client with a certificate calls an HTTPS API over mutual TLS, the way Silk's cells and
 * cf's agents do: real TLS, no Java client library in between. A TLS refusal (no certificate, an
 * untrusted one) is an {@link IOException}.
 */
public record MutualTlsCurl(Path ca, Path certificate, Path key) {

    /** The status and the body of an answer. */
    public record Answer(int status, String body) {}

    /** Without a client certificate. */
    public static MutualTlsCurl anonymous(Path ca) {
        return new MutualTlsCurl(ca, null, null);
    }

    public Answer call(String method, String url, String jsonBody) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "--cacert", ca.toString(),
                "-X", method, "-w", "\n%{http_code}"));
        if (certificate != null) {
            cmd.addAll(List.of("--cert", certificate.toString(), "--key", key.toString()));
        }
        if (jsonBody != null) {
            cmd.addAll(List.of("-H", "Content-Type: application/json", "--data-binary", jsonBody));
        }
        cmd.add(url);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("curl failed (" + (p.isAlive() ? "timeout" : p.exitValue()) + "): " + out);
        }
        int nl = out.lastIndexOf('\n');
        return new Answer(Integer.parseInt(out.substring(nl + 1).trim()), out.substring(0, nl));
    }
}
