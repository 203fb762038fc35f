package io.silk.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Docker ping against stand-in sockets: one that answers, one that stays silent, none at all. */
class DockerEngineTest {

    @TempDir
    Path dir;

    /** A unix socket server that answers each connection with the given bytes (or nothing) and closes. */
    Thread serve(ServerSocketChannel server, String answer) {
        Thread t = Thread.ofVirtual().start(() -> {
            try (SocketChannel c = server.accept()) {
                c.read(ByteBuffer.allocate(1024));
                if (answer == null) {
                    Thread.sleep(5_000);
                } else {
                    c.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.US_ASCII)));
                }
            } catch (Exception ignored) {
                // The test is over.
            }
        });
        return t;
    }

    ServerSocketChannel socket(String name) throws Exception {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(dir.resolve(name)));
        return s;
    }

    @Test
    void anEngineThatAnswersOk() throws Exception {
        try (var server = socket("ok.sock")) {
            serve(server, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK");
            var probe = DockerEngine.probe(Map.of("DOCKER_HOST", "unix://" + dir.resolve("ok.sock")), Duration.ofSeconds(1));
            assertThat(probe.answers()).as(probe.detail()).isTrue();
        }
    }

    @Test
    void aSilentSocketCostsTheTimeoutAndNoMore() throws Exception {
        try (var server = socket("silent.sock")) {
            Thread t = serve(server, null);
            long t0 = System.nanoTime();
            var probe = DockerEngine.probe(Map.of("DOCKER_HOST", "unix://" + dir.resolve("silent.sock")), Duration.ofMillis(300));
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(probe.answers()).isFalse();
            assertThat(probe.detail()).contains("no answer within 300 ms");
            assertThat(millis).isBetween(250L, 2_000L);
            t.interrupt();
        }
    }

    @Test
    void somethingElseOnTheSocketIsNotDocker() throws Exception {
        try (var server = socket("http.sock")) {
            serve(server, "HTTP/1.0 404 Not Found\r\n\r\nnope");
            var probe = DockerEngine.probe(Map.of("DOCKER_HOST", "unix://" + dir.resolve("http.sock")), Duration.ofSeconds(1));
            assertThat(probe.answers()).isFalse();
        }
    }

    @Test
    void noSocketAndNothingListening() {
        var missing = DockerEngine.probe(Map.of("DOCKER_HOST", "unix://" + dir.resolve("absent.sock")), Duration.ofSeconds(1));
        assertThat(missing.answers()).isFalse();
        var closedPort = DockerEngine.probe(Map.of("DOCKER_HOST", "tcp://127.0.0.1:1"), Duration.ofSeconds(1));
        assertThat(closedPort.answers()).isFalse();
        assertThat(DockerEngine.probe(Map.of("DOCKER_HOST", "npipe:////./pipe/docker_engine"), Duration.ofSeconds(1)).detail())
                .contains("not a unix:// or tcp:// address");
        assertThat(Files.exists(dir.resolve("absent.sock"))).isFalse();
    }
}
