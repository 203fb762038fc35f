package io.silk.cni;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The AOT training run (cni-plugin/install.sh): walks the plugin's real path — an ADD forwarded
 * to a daemon over a unix socket and its answer printed — against a stand-in daemon in this
 * process, so the classes of that path land in the AOT cache.
 */
final class Training {

    private Training() {}

    static void run() throws IOException {
        Path dir = Files.createTempDirectory("silk-cni-train");
        Path socket = dir.resolve("cni.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread daemon = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 3; i++) {
                    try (SocketChannel c = server.accept()) {
                        ByteBuffer len = ByteBuffer.allocate(4);
                        while (len.hasRemaining()) {
                            c.read(len);
                        }
                        ByteBuffer body = ByteBuffer.allocate(len.flip().getInt());
                        while (body.hasRemaining()) {
                            c.read(body);
                        }
                        byte[] out = "0\n{\"cniVersion\":\"1.0.0\",\"ips\":[]}".getBytes(StandardCharsets.UTF_8);
                        c.write(ByteBuffer.allocate(4 + out.length).putInt(out.length).put(out).flip());
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            byte[] config = ("{\"cniVersion\":\"1.0.0\",\"name\":\"train\",\"type\":\"silk\",\"daemonSocket\":\"" + socket + "\"}")
                    .getBytes(StandardCharsets.UTF_8);
            PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
            for (String command : new String[] {"ADD", "CHECK", "DEL"}) {
                SilkCni.run(Map.of("CNI_COMMAND", command, "CNI_CONTAINERID", "train", "CNI_NETNS", "/nonexistent",
                        "CNI_IFNAME", "eth0"), config, sink);
            }
            try {
                daemon.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
        // The fallbacks too: VERSION, and a DEL with no daemon.
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        SilkCni.run(Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8), sink);
        SilkCni.run(Map.of("CNI_COMMAND", "DEL", "CNI_NETNS", "/nonexistent", "CNI_IFNAME", "eth0"),
                "{\"cniVersion\":\"1.0.0\",\"daemonSocket\":\"/nonexistent/s\"}".getBytes(StandardCharsets.UTF_8), sink);
    }
}
