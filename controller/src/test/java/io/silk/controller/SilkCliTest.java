package io.silk.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.cli.SilkCommand;
import io.silk.controller.testing.ControllerReplica;
import io.silk.controller.testing.TestPki;
import io.silk.testing.TestPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The silk CLI against a real controller: output, errors and exit codes scripts rely on. */
class SilkCliTest {

    static ControllerReplica replica;

    record Run(int exit, String out, String err) {}

    @BeforeAll
    static void start() {
        replica = ControllerReplica.start(TestPostgres.newDatabase());
    }

    @AfterAll
    static void stop() {
        replica.close();
    }

    static Run silk(int port, TestPki.Identity as, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--controller", "localhost:" + port, "--ca", TestPki.ca().toString()));
        if (as != null) {
            all.addAll(List.of("--cert", as.certificate().toString(), "--key", as.key().toString()));
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = SilkCommand.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void acquireListAndRelease() {
        var cell = TestPki.cell("10.9.0.1");
        Run acquired = silk(replica.grpcPort(), cell, "acquire-lease");
        assertThat(acquired.exit()).isZero();
        assertThat(acquired.out()).matches("10\\.9\\.0\\.1 10\\.255\\.\\d+\\.0/24 ee:ee:0a:ff:[0-9a-f]{2}:00\\s*");

        Run listed = silk(replica.grpcPort(), TestPki.operator(), "leases");
        assertThat(listed.exit()).isZero();
        assertThat(listed.out()).contains("overlay network 10.255.0.0/16", "10.9.0.1");

        Run released = silk(replica.grpcPort(), TestPki.operator(), "release-lease", "--cell", "10.9.0.1");
        assertThat(released.exit()).isZero();
        assertThat(released.out()).contains("released 10.9.0.1");
    }

    @Test
    void refusalsUnavailabilityAndUsageHaveDistinctExitCodes() throws Exception {
        Run forbidden = silk(replica.grpcPort(), TestPki.cell("10.9.0.2"), "release-lease", "--cell", "10.9.0.3");
        assertThat(forbidden.exit()).isEqualTo(SilkCommand.REFUSED);
        assertThat(forbidden.err()).contains("PERMISSION_DENIED", "names cell 10.9.0.2");

        Run invalid = silk(replica.grpcPort(), TestPki.operator(), "acquire-lease", "--cell", "10.9.0");
        assertThat(invalid.exit()).isEqualTo(SilkCommand.REFUSED);
        assertThat(invalid.err()).contains("INVALID_ARGUMENT", "not an IPv4 address");

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Run down = silk(closedPort, TestPki.operator(), "leases");
        assertThat(down.exit()).isEqualTo(SilkCommand.UNAVAILABLE);
        assertThat(down.err()).contains("UNAVAILABLE");

        Run usage = silk(replica.grpcPort(), TestPki.operator(), "release-lease");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("--cell");
    }
}
