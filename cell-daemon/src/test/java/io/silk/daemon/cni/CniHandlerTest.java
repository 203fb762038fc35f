package io.silk.daemon.cni;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.silk.daemon.ipam.AddressBook;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CNI contract where it needs no kernel: versions, errors, the result's shape. */
class CniHandlerTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    CniHandler withoutLease() {
        return new CniHandler(new AddressBook(dir), null, () -> null, new SimpleMeterRegistry());
    }

    static JsonNode json(CniHandler.Response r) throws Exception {
        return JSON.readTree(r.stdout());
    }

    static byte[] conf(String version) {
        return ("{\"cniVersion\":\"" + version + "\",\"name\":\"n\",\"type\":\"silk\"}").getBytes();
    }

    @Test
    void errorsCarryTheWellKnownCodes() throws Exception {
        CniHandler h = withoutLease();
        var noLease = h.handle(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c", "CNI_NETNS", "/x", "CNI_IFNAME", "eth0"), conf("1.0.0"));
        assertThat(noLease.exitCode()).isNotZero();
        assertThat(json(noLease).get("code").asInt()).isEqualTo(11);
        assertThat(json(h.handle(Map.of("CNI_COMMAND", "STATUS"), conf("1.1.0"))).get("code").asInt()).isEqualTo(50);
        assertThat(json(h.handle(Map.of("CNI_COMMAND", "ADD"), "[1]".getBytes())).get("code").asInt()).isEqualTo(6);
        assertThat(json(h.handle(Map.of("CNI_COMMAND", "ADD"), conf("0.2.0"))).get("code").asInt()).isEqualTo(1);
        assertThat(json(h.handle(Map.of("CNI_COMMAND", "ADD"), conf("1.0.0"))).get("msg").asText())
                .isEqualTo("CNI_CONTAINERID is not set");
        assertThat(json(h.handle(Map.of("CNI_COMMAND", "FROB"), conf("1.0.0"))).get("code").asInt()).isEqualTo(4);
        var gc = h.handle(Map.of("CNI_COMMAND", "GC"), conf("1.1.0"));
        assertThat(json(gc).get("code").asInt()).isEqualTo(7);
    }

    @Test
    void anMtuThatIsNotAWholeNumberInRangeIsInvalidConfigurationEvenBeforeALease() throws Exception {
        CniHandler h = withoutLease();
        var add = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c", "CNI_NETNS", "/x", "CNI_IFNAME", "eth0");
        for (String mtu : new String[] {"1400.5", "1400.0", "\"1400\"", "575", "65536", "true", "1e3"}) {
            byte[] config = ("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"silk\",\"mtu\":" + mtu + "}").getBytes();
            var r = h.handle(add, config);
            assertThat(json(r).get("code").asInt()).as(mtu).isEqualTo(7);
            assertThat(json(r).get("msg").asText()).as(mtu).isEqualTo("mtu must be an integer between 576 and 65535");
        }
        byte[] whole = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"silk\",\"mtu\":1400}".getBytes();
        assertThat(json(h.handle(add, whole)).get("code").asInt()).as("a good mtu gets as far as the lease").isEqualTo(11);
    }

    @Test
    void versionNeedsNoConfiguration() throws Exception {
        JsonNode v = json(withoutLease().handle(Map.of("CNI_COMMAND", "VERSION"), new byte[0]));
        assertThat(v.get("supportedVersions").toString()).contains("0.4.0", "1.0.0", "1.1.0");
    }

    @Test
    void resultShapeFollowsTheVersion() throws Exception {
        JsonNode old = JSON.readTree(CniHandler.result("0.4.0", "s-x", "eth0", "/var/run/netns/c", "10.255.1.2"));
        assertThat(old.at("/ips/0/version").asText()).isEqualTo("4");
        JsonNode now = JSON.readTree(CniHandler.result("1.1.0", "s-x", "eth0", "/var/run/netns/c", "10.255.1.2"));
        assertThat(now.at("/ips/0").has("version")).isFalse();
        assertThat(now.at("/ips/0/address").asText()).isEqualTo("10.255.1.2/32");
        assertThat(now.at("/ips/0/interface").asInt()).isEqualTo(1);
        assertThat(now.at("/interfaces/1/sandbox").asText()).isEqualTo("/var/run/netns/c");
        assertThat(now.at("/interfaces/0/mac").asText()).isEqualTo("aa:aa:0a:ff:01:02");
        assertThat(now.at("/routes/0/gw").asText()).isEqualTo("169.254.0.1");
    }

    @Test
    void appIdFromRuntimeConfigThenCniArgs() throws Exception {
        JsonNode withRuntime = JSON.readTree("{\"runtimeConfig\":{\"appId\":\"app-1\"}}");
        assertThat(CniHandler.appId(Map.of("CNI_ARGS", "SILK_APP_ID=app-2"), withRuntime)).isEqualTo("app-1");
        assertThat(CniHandler.appId(Map.of("CNI_ARGS", "IgnoreUnknown=1;SILK_APP_ID=app-2"), JSON.readTree("{}"))).isEqualTo("app-2");
        assertThat(CniHandler.appId(Map.of(), JSON.readTree("{}"))).isEmpty();
    }

    static JsonNode parse(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void cloudFoundrysMetadataAndPortMappingsAreRead() throws Exception {
        // As garden-external-networker passes it: metadata at the top level, CF's port mapping shape.
        var cf = CniHandler.metadata(Map.of(), parse("""
                {"cniVersion":"0.3.1","name":"cf","type":"silk",
                 "metadata":{"policy_group_id":"app-guid","app_id":"app-guid","space_id":"space-guid","org_id":"org-guid",
                             "container_workload":"staging"},
                 "runtimeConfig":{"portMappings":[{"host_port":61001,"container_port":8080},{"host_port":61002,"container_port":2222}]}}
                """));
        assertThat(cf).isEqualTo(new io.silk.daemon.ipam.ContainerMetadata("app-guid", "space-guid", "org-guid", "staging",
                java.util.List.of(new io.silk.daemon.ipam.ContainerMetadata.PortMapping(61001, 8080, "tcp"),
                        new io.silk.daemon.ipam.ContainerMetadata.PortMapping(61002, 2222, "tcp"))));
        // As Cloud Foundry's guide shows it: inside runtimeConfig; the CNI capability's shape.
        var guide = CniHandler.metadata(Map.of(), parse("""
                {"cniVersion":"1.0.0","name":"n","type":"silk","runtimeConfig":{"metadata":{"policy_group_id":"g","space_id":"s"},
                 "portMappings":[{"hostPort":8443,"containerPort":443,"protocol":"udp"}]}}
                """));
        assertThat(guide.appId()).isEqualTo("g");
        assertThat(guide.spaceId()).isEqualTo("s");
        assertThat(guide.portMappings()).containsExactly(new io.silk.daemon.ipam.ContainerMetadata.PortMapping(8443, 443, "udp"));
        // Today's conventions still work.
        assertThat(CniHandler.metadata(Map.of("CNI_ARGS", "IgnoreUnknown=1;SILK_APP_ID=app-x"), parse(new String(conf("1.0.0"))))
                .appId()).isEqualTo("app-x");
    }

    @Test
    void badMetadataOrPortMappingsAreInvalidConfigurationBeforeALease() throws Exception {
        CniHandler h = withoutLease();
        var add = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c", "CNI_NETNS", "/x", "CNI_IFNAME", "eth0");
        for (String bad : new String[] {
                "\"metadata\":{\"container_workload\":\"batch\"}",
                "\"metadata\":{\"space_id\":7}",
                "\"runtimeConfig\":{\"portMappings\":[{\"host_port\":\"61001\",\"container_port\":8080}]}",
                "\"runtimeConfig\":{\"portMappings\":[{\"host_port\":70000,\"container_port\":8080}]}",
                "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":1,\"containerPort\":2,\"protocol\":\"sctp\"}]}",
                "\"runtimeConfig\":{\"portMappings\":{\"host_port\":1}}"}) {
            byte[] config = ("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"silk\"," + bad + "}").getBytes();
            var r = json(h.handle(add, config));
            assertThat(r.get("code").asInt()).as(bad).isEqualTo(7);
            assertThat(r.get("msg").asText()).as(bad).containsAnyOf("metadata", "portMappings");
        }
    }

    @Test
    void staticSecurityGroupRulesAndDnsServersAreRead() throws Exception {
        var m = CniHandler.metadata(Map.of(), parse("""
                {"cniVersion":"0.3.1","name":"cf","type":"silk","dns_servers":["169.254.0.2","8.8.8.8"],
                 "runtimeConfig":{"netOutRules":[
                   {"protocol":1,"networks":[{"start":"8.8.8.8","end":"9.9.9.9"}],"ports":[{"start":53,"end":54}],"log":true},
                   {"protocol":3,"networks":[{"start":"10.0.0.1","end":"10.0.0.1"}],"icmps":{"type":8}},
                   {"protocol":0}]}}
                """));
        assertThat(m.dnsServers()).containsExactly("169.254.0.2", "8.8.8.8");
        assertThat(m.netOutRules()).hasSize(3);
        var tcp = m.netOutRules().get(0);
        assertThat(tcp.protocol()).isEqualTo("tcp");
        assertThat(tcp.networks()).containsExactly(new io.silk.daemon.ipam.ContainerMetadata.Range(0x08080808L, 0x09090909L));
        assertThat(tcp.ports()).containsExactly(new io.silk.daemon.ipam.ContainerMetadata.Range(53, 54));
        assertThat(tcp.log()).isTrue();
        assertThat(m.netOutRules().get(1).icmpType()).isEqualTo(8);
        assertThat(m.netOutRules().get(1).icmpCode()).isEqualTo(-1);
        assertThat(m.netOutRules().get(2).protocol()).isEqualTo("all");
        assertThat(m.netOutRules().get(2).networks()).as("omitted: every address").isEmpty();

        JsonNode result = JSON.readTree(CniHandler.result("0.3.1", "s-x", "eth0", "/n", "10.255.1.2", m.dnsServers()));
        assertThat(result.at("/dns/nameservers").toString()).isEqualTo("[\"169.254.0.2\",\"8.8.8.8\"]");

        CniHandler h = withoutLease();
        var add = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c", "CNI_NETNS", "/x", "CNI_IFNAME", "eth0");
        for (String bad : new String[] {"\"dns_servers\":[\"dns.example\"]", "\"runtimeConfig\":{\"netOutRules\":[{\"protocol\":7}]}",
                "\"runtimeConfig\":{\"netOutRules\":[{\"protocol\":1,\"ports\":[{\"start\":90,\"end\":80}]}]}",
                "\"runtimeConfig\":{\"netOutRules\":[{\"protocol\":1,\"networks\":[{\"start\":\"1.2.3\",\"end\":\"1.2.3.4\"}]}]}"}) {
            byte[] config = ("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"silk\"," + bad + "}").getBytes();
            assertThat(json(h.handle(add, config)).get("code").asInt()).as(bad).isEqualTo(7);
        }
    }
}
