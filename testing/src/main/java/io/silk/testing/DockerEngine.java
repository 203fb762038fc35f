package io.silk.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Whether a Docker engine answers: {@code GET /_ping} on DOCKER_HOST (unix:// or tcp://) or, when
 * that is unset, on the usual sockets that exist. Non-blocking I/O under one deadline, so a
 * socket that accepts and then stays silent costs the timeout and no more.
 */
public final class DockerEngine {

    /** What a probe found: whether an engine answered, and where (or why not). */
    public record Probe(boolean answers, String detail) {}

    private DockerEngine() {}

    public static Probe probe(Duration timeout) {
        return probe(System.getenv(), timeout);
    }

    static Probe probe(Map<String, String> env, Duration timeout) {
        List<String> tried = new ArrayList<>();
        for (String endpoint : endpoints(env)) {
            String answer = ping(endpoint, timeout);
            if (answer == null) {
                return new Probe(true, endpoint);
            }
            tried.add(endpoint + ": " + answer);
        }
        return new Probe(false, tried.isEmpty() ? "no DOCKER_HOST and no Docker socket" : String.join("; ", tried));
    }

    /** DOCKER_HOST when set, else the Docker sockets present on this machine. */
    static List<String> endpoints(Map<String, String> env) {
        String host = env.get("DOCKER_HOST");
        if (host != null && !host.isBlank()) {
            return List.of(host.trim());
        }
        List<Path> candidates = new ArrayList<>(List.of(Path.of("/var/run/docker.sock")));
        if (env.get("XDG_RUNTIME_DIR") != null) {
            candidates.add(Path.of(env.get("XDG_RUNTIME_DIR"), "docker.sock"));
        }
        candidates.add(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"));
        return candidates.stream().filter(Files::exists).map(p -> "unix://" + p).toList();
    }

    /** Null when the endpoint answered the ping with OK, else why not. */
    static String ping(String endpoint, Duration timeout) {
        SocketAddress address;
        try {
            URI uri = URI.create(endpoint);
            address = switch (uri.getScheme()) {
                case "unix" -> UnixDomainSocketAddress.of(uri.getPath());
                case "tcp", "http" -> new InetSocketAddress(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 2375);
                default -> null;
            };
        } catch (IllegalArgumentException | NullPointerException e) {
            address = null;
        }
        if (address == null) {
            return "not a unix:// or tcp:// address";
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel channel = SocketChannel.open(address instanceof UnixDomainSocketAddress
                ? java.net.StandardProtocolFamily.UNIX : java.net.StandardProtocolFamily.INET);
             Selector selector = Selector.open()) {
            channel.configureBlocking(false);
            channel.register(selector, SelectionKey.OP_CONNECT);
            if (!channel.connect(address)) {
                if (!await(selector, deadline) || !channel.finishConnect()) {
                    return "no connection within " + timeout.toMillis() + " ms";
                }
            }
            ByteBuffer request = ByteBuffer.wrap("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            channel.register(selector, SelectionKey.OP_WRITE);
            while (request.hasRemaining()) {
                if (!await(selector, deadline)) {
                    return "no answer within " + timeout.toMillis() + " ms";
                }
                channel.write(request);
            }
            channel.register(selector, SelectionKey.OP_READ);
            ByteBuffer response = ByteBuffer.allocate(4096);
            while (response.hasRemaining()) {
                if (!await(selector, deadline)) {
                    return "no answer within " + timeout.toMillis() + " ms";
                }
                if (channel.read(response) < 0) {
                    break;
                }
            }
            String text = new String(response.array(), 0, response.position(), StandardCharsets.US_ASCII);
            return text.startsWith("HTTP/1.") && text.contains(" 200 ") && text.contains("\r\n\r\nOK") ? null
                    : "answered, but not with 200 OK";
        } catch (IOException e) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
    }

    private static boolean await(Selector selector, long deadline) throws IOException {
        long millis = (deadline - System.nanoTime()) / 1_000_000;
        if (millis <= 0) {
            return false;
        }
        selector.selectedKeys().clear();
        return selector.select(millis) > 0;
    }
}
