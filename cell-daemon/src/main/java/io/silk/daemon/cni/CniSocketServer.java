package io.silk.daemon.cni;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The unix socket the CNI plugin talks to. Its directory is root-only (0700) and the socket
 * 0600. One request per connection:
 * <pre>
 *   request:  int32 length, then UTF-8: "CNI_X=value" lines, an empty line, the stdin bytes
 *   response: int32 length, then UTF-8: the exit code on the first line, then stdout
 * </pre>
 */
public final class CniSocketServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CniSocketServer.class);
    private static final int MAX_REQUEST = 4 << 20;

    private final Path path;
    private final CniHandler handler;
    private final ServerSocketChannel server;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean running = true;

    public CniSocketServer(Path path, CniHandler handler) throws IOException {
        this.path = path;
        this.handler = handler;
        Files.createDirectories(path.getParent());
        Files.setPosixFilePermissions(path.getParent(), PosixFilePermissions.fromString("rwx------"));
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        Thread.ofPlatform().name("cni-socket").daemon().start(this::accept);
    }

    private void accept() {
        while (running) {
            try {
                SocketChannel c = server.accept();
                workers.submit(() -> serve(c));
            } catch (IOException e) {
                if (running) {
                    log.atWarn().addKeyValue("error", e.getMessage()).log("cni socket accept failed");
                }
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            ByteBuffer len = ByteBuffer.allocate(4);
            readFully(c, len);
            int n = len.flip().getInt();
            if (n < 0 || n > MAX_REQUEST) {
                return;
            }
            ByteBuffer body = ByteBuffer.allocate(n);
            readFully(c, body);
            byte[] raw = body.array();
            Map<String, String> env = new HashMap<>();
            int i = 0;
            while (i < raw.length) {
                int nl = indexOf(raw, (byte) '\n', i);
                if (nl < 0 || nl == i) {
                    i = nl < 0 ? raw.length : nl + 1;
                    break;
                }
                String line = new String(raw, i, nl - i, StandardCharsets.UTF_8);
                int eq = line.indexOf('=');
                if (eq > 0) {
                    env.put(line.substring(0, eq), line.substring(eq + 1));
                }
                i = nl + 1;
            }
            byte[] stdin = java.util.Arrays.copyOfRange(raw, Math.min(i, raw.length), raw.length);
            CniHandler.Response r = handler.handle(env, stdin);
            byte[] out = (r.exitCode() + "\n" + r.stdout()).getBytes(StandardCharsets.UTF_8);
            ByteBuffer reply = ByteBuffer.allocate(4 + out.length).putInt(out.length).put(out).flip();
            while (reply.hasRemaining()) {
                c.write(reply);
            }
        } catch (IOException e) {
            log.atDebug().addKeyValue("error", e.getMessage()).log("cni connection failed");
        }
    }

    private static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("connection closed early");
            }
        }
    }

    private static int indexOf(byte[] a, byte v, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        running = false;
        server.close();
        workers.shutdownNow();
        Files.deleteIfExists(path);
    }
}
