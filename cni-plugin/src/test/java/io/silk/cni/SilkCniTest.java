package io.silk.cni;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the plugin answers by itself, without a daemon. */
class SilkCniTest {

    record Out(int exit, String stdout) {}

    static Out run(Map<String, String> env, String stdin) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int exit = SilkCni.run(env, stdin.getBytes(StandardCharsets.UTF_8), new PrintStream(buf, true, StandardCharsets.UTF_8));
        return new Out(exit, buf.toString(StandardCharsets.UTF_8));
    }

    static final String CONF = "{\"cniVersion\": \"1.0.0\", \"name\":\"n\", \"type\":\"silk\", \"daemonSocket\" : \"/nonexistent/cni.sock\"}";

    @Test
    void versionIsAnsweredLocally() {
        Out o = run(Map.of("CNI_COMMAND", "VERSION"), CONF);
        assertThat(o.exit()).isZero();
        assertThat(o.stdout()).isEqualTo("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
    }

    @Test
    void withoutTheDaemonAddIsRetryableStatusUnavailableAndDelSucceeds() {
        Out add = run(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c", "CNI_NETNS", "/x", "CNI_IFNAME", "eth0"), CONF);
        assertThat(add.exit()).isNotZero();
        assertThat(add.stdout()).contains("\"code\":11", "/nonexistent/cni.sock", "try again later");
        Out status = run(Map.of("CNI_COMMAND", "STATUS"), CONF);
        assertThat(status.stdout()).contains("\"code\":50", "plugin not available");
        Out del = run(Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", "c", "CNI_NETNS", "/nonexistent/ns", "CNI_IFNAME", "eth0"), CONF);
        assertThat(del.exit()).isZero();
    }

    @Test
    void withoutTheDaemonAMalformedOrEmptyConfigurationIsADecodingFailureNotARetry() {
        var add = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c", "CNI_NETNS", "/x", "CNI_IFNAME", "eth0",
                "SILK_CNI_SOCKET", "/nonexistent/cni.sock");
        for (String stdin : new String[] {"", "  ", "{\"cniVersion\": \"1.0.0\",", "[1]", "{\"a\": tru}", "{\"a\": 01}",
                "{\"a\": 1} x", "{\"a\" 1}", "{\"a\": \"\\q\"}"}) {
            Out o = run(add, stdin);
            assertThat(o.exit()).as(stdin).isNotZero();
            assertThat(o.stdout()).as(stdin).contains("\"code\":6", "decoding the network configuration");
        }
        Out wellFormed = run(add, "{\"cniVersion\":\"1.0.0\",\"a\":[1,-2.5e3,true,null,{\"b\":\"\\u00e9\"}]}");
        assertThat(wellFormed.stdout()).contains("\"code\":11");
    }

    @Test
    void readsOnlyTheFieldsItNeeds() {
        assertThat(SilkCni.stringField(CONF, "daemonSocket", "d")).isEqualTo("/nonexistent/cni.sock");
        assertThat(SilkCni.stringField(CONF, "cniVersion", "d")).isEqualTo("1.0.0");
        assertThat(SilkCni.stringField("{\"daemonSocket\": 5}", "daemonSocket", "d")).isEqualTo("d");
        assertThat(SilkCni.stringField("{}", "daemonSocket", "d")).isEqualTo("d");
    }
}
