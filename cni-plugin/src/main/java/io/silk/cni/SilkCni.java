package io.silk.cni;

import io.silk.netlink.Netlink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The silk CNI plugin. It does almost nothing itself, on purpose: its start-up is part of every
 * container start, so it forwards the runtime's environment and stdin to the cell daemon (which
 * allocates the address and wires the veth in a warm process) and prints the daemon's answer.
 * Only what must work without the daemon is done here: VERSION, and DEL (removing the container
 * interface, so a container can always be deleted).
 */
public final class SilkCni {

    static final String DEFAULT_SOCKET = "/run/silk/cni.sock";
    static final List<String> VERSIONS = List.of("0.4.0", "1.0.0", "1.1.0");
    private static final List<String> FORWARDED = List.of("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME",
            "CNI_ARGS", "CNI_PATH");

    private SilkCni() {}

    public static void main(String[] args) throws IOException {
        if ("--train".equals(args.length > 0 ? args[0] : "")) {
            Training.run();
            return;
        }
        byte[] stdin = System.in.readAllBytes();
        int exit = run(System.getenv(), stdin, System.out);
        System.out.flush();
        System.exit(exit);
    }

    static int run(Map<String, String> env, byte[] stdin, PrintStream out) {
        String command = env.getOrDefault("CNI_COMMAND", "");
        String config = new String(stdin, StandardCharsets.UTF_8);
        String version = stringField(config, "cniVersion", "1.1.0");
        if (command.equals("VERSION")) {
            out.print("{\"cniVersion\":\"" + version + "\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
            return 0;
        }
        Path socket = Path.of(env.getOrDefault("SILK_CNI_SOCKET", stringField(config, "daemonSocket", DEFAULT_SOCKET)));
        try {
            return forward(socket, env, stdin, out);
        } catch (IOException unreachable) {
            // The daemon decodes the configuration; without it, a malformed one is still a decoding failure.
            String problem = JsonSyntax.objectProblem(config);
            if (problem != null) {
                return error(out, version, 6, "decoding the network configuration on stdin failed: " + problem);
            }
            String why = "the silk daemon is not reachable at " + socket + " (" + unreachable.getMessage() + ")";
            return switch (command) {
                case "DEL" -> deleteLocally(env, out, version);
                case "STATUS" -> error(out, version, 50, "plugin not available: " + why);
                default -> error(out, version, 11, command + ": " + why + "; try again later");
            };
        }
    }

    private static int forward(Path socket, Map<String, String> env, byte[] stdin, PrintStream out) throws IOException {
        StringBuilder head = new StringBuilder();
        for (String k : FORWARDED) {
            String v = env.get(k);
            if (v != null) {
                head.append(k).append('=').append(v.replace('\n', ' ')).append('\n');
            }
        }
        head.append('\n');
        byte[] h = head.toString().getBytes(StandardCharsets.UTF_8);
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer req = ByteBuffer.allocate(4 + h.length + stdin.length).putInt(h.length + stdin.length).put(h).put(stdin).flip();
            while (req.hasRemaining()) {
                c.write(req);
            }
            ByteBuffer len = ByteBuffer.allocate(4);
            readFully(c, len);
            ByteBuffer body = ByteBuffer.allocate(len.flip().getInt());
            readFully(c, body);
            String reply = new String(body.array(), StandardCharsets.UTF_8);
            int nl = reply.indexOf('\n');
            out.print(reply.substring(nl + 1));
            return Integer.parseInt(reply.substring(0, nl));
        }
    }

    private static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("the daemon closed the connection");
            }
        }
    }

    /** DEL without the daemon: remove the container's interface; the daemon frees the address later. */
    private static int deleteLocally(Map<String, String> env, PrintStream out, String version) {
        String netns = env.getOrDefault("CNI_NETNS", "");
        String ifname = env.getOrDefault("CNI_IFNAME", "");
        if (netns.isEmpty() || ifname.isEmpty() || !Files.exists(Path.of(netns))) {
            return 0;
        }
        try (Netlink inside = Netlink.openIn(Path.of(netns))) {
            inside.link(ifname).ifPresent(l -> inside.deleteLink(l.index()));
            return 0;
        } catch (RuntimeException e) {
            return error(out, version, 5, "DEL: removing " + ifname + " in " + netns + " failed: " + e.getMessage());
        }
    }

    static int error(PrintStream out, String version, int code, String message) {
        out.print("{\"cniVersion\":\"" + version + "\",\"code\":" + code + ",\"msg\":\""
                + message.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}");
        return 1;
    }

    /**
     * The first string field of that name in the configuration. A scan, not a JSON parser (nor a
     * regular expression): the plugin reads only two fields, and loading either would cost every
     * container start more than the whole scan.
     */
    static String stringField(String json, String name, String fallback) {
        String key = '"' + name + '"';
        for (int at = json.indexOf(key); at >= 0; at = json.indexOf(key, at + 1)) {
            int i = at + key.length();
            while (i < json.length() && Character.isWhitespace(json.charAt(i))) {
                i++;
            }
            if (i >= json.length() || json.charAt(i) != ':') {
                continue;
            }
            i++;
            while (i < json.length() && Character.isWhitespace(json.charAt(i))) {
                i++;
            }
            if (i >= json.length() || json.charAt(i) != '"') {
                continue;
            }
            int end = json.indexOf('"', i + 1);
            if (end > 0) {
                return json.substring(i + 1, end);
            }
        }
        return fallback;
    }
}
