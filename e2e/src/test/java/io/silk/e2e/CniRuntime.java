package io.silk.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a container runtime does with a conflist (as libcni does): each plugin of the chain is
 * run in turn with the network's name and version and the previous plugin's result as
 * prevResult; DEL goes in reverse order. Plugins run in the cell's namespace.
 */
public final class CniRuntime {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One plugin run: exit code, stdout, and how long it took. */
    public record Run(int exit, String stdout, long nanos) {
        public JsonNode json() {
            try {
                return JSON.readTree(stdout.isEmpty() ? "{}" : stdout);
            } catch (IOException e) {
                throw new AssertionError("plugin output is not JSON: " + stdout, e);
            }
        }
    }

    private final Path bin;
    private final String cellNs;

    public CniRuntime(Path bin, String cellNs) {
        this.bin = bin;
        this.cellNs = cellNs;
    }

    public static ObjectNode plugin(String type) {
        return JSON.createObjectNode().put("type", type);
    }

    /** Runs one plugin binary as a runtime would: environment plus the configuration on stdin. */
    public Run exec(String command, String type, String containerId, String netns, String ifname, JsonNode config, String cniArgs) {
        try {
            return exec(command, type, containerId, netns, ifname, JSON.writeValueAsBytes(config), cniArgs);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The same with raw bytes on stdin, for malformed configurations. */
    public Run exec(String command, String type, String containerId, String netns, String ifname, byte[] stdin, String cniArgs) {
        try {
            List<String> cmd = List.of("ip", "netns", "exec", cellNs, bin.resolve(type).toString());
            ProcessBuilder pb = new ProcessBuilder(cmd);
            Map<String, String> env = pb.environment();
            env.put("CNI_COMMAND", command);
            env.put("CNI_CONTAINERID", containerId);
            if (netns != null) {
                env.put("CNI_NETNS", netns);
            }
            env.put("CNI_IFNAME", ifname);
            env.put("CNI_PATH", bin.toString());
            if (cniArgs != null) {
                env.put("CNI_ARGS", cniArgs);
            }
            long t0 = System.nanoTime();
            Process p = pb.start();
            p.getOutputStream().write(stdin);
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes());
            String err = new String(p.getErrorStream().readAllBytes());
            int exit = p.waitFor();
            long took = System.nanoTime() - t0;
            return new Run(exit, out.isEmpty() && exit != 0 ? err : out, took);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A network: its name, version and plugin chain. */
    public record Network(String name, String cniVersion, List<ObjectNode> plugins) {
        ObjectNode configFor(int i, JsonNode prevResult) {
            ObjectNode c = plugins.get(i).deepCopy();
            c.put("name", name).put("cniVersion", cniVersion);
            if (prevResult != null) {
                c.set("prevResult", prevResult);
            }
            return c;
        }
    }

    public JsonNode add(Network net, String containerId, String netns, String ifname, String cniArgs) {
        JsonNode prev = null;
        for (int i = 0; i < net.plugins().size(); i++) {
            String type = net.plugins().get(i).get("type").asText();
            Run r = exec("ADD", type, containerId, netns, ifname, net.configFor(i, prev), cniArgs);
            if (r.exit() != 0) {
                throw new AssertionError("ADD " + type + " failed: " + r.stdout());
            }
            prev = r.json();
        }
        return prev;
    }

    public void check(Network net, String containerId, String netns, String ifname, JsonNode result) {
        for (int i = 0; i < net.plugins().size(); i++) {
            String type = net.plugins().get(i).get("type").asText();
            Run r = exec("CHECK", type, containerId, netns, ifname, net.configFor(i, result), null);
            if (r.exit() != 0) {
                throw new AssertionError("CHECK " + type + " failed: " + r.stdout());
            }
        }
    }

    public List<Run> del(Network net, String containerId, String netns, String ifname, JsonNode result) {
        List<Run> runs = new ArrayList<>();
        for (int i = net.plugins().size() - 1; i >= 0; i--) {
            String type = net.plugins().get(i).get("type").asText();
            runs.add(exec("DEL", type, containerId, netns, ifname, net.configFor(i, result), null));
        }
        return runs;
    }
}
