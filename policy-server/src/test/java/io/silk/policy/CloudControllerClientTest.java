package io.silk.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.policy.FakeCloudController.Group;
import io.silk.policy.cloudcontroller.CloudControllerClient;
import io.silk.policy.cloudcontroller.CloudControllerException;
import io.silk.policy.cloudcontroller.CloudControllerProperties;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Cloud Controller client's TLS settings and its errors, against the stand-in (no policy server). */
class CloudControllerClientTest {

    static TestPki pki;
    static FakeCloudController cc;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.make();
        cc = new FakeCloudController(pki);
        for (int i = 0; i < 5; i++) {
            cc.put(new Group("00000000-0000-4000-8000-00000000000" + i, "g" + i, "[]", false, false, List.of(), List.of()));
        }
        cc.app("app-1", "space-1");
        cc.role("user-1", "space-1", "space_developer");
    }

    @AfterAll
    static void stop() {
        cc.close();
    }

    static CloudControllerClient client(Path ca, boolean skipTls, boolean clientCertificate, String secret) {
        return CloudControllerClient.create(new CloudControllerProperties(URI.create(cc.apiUrl()), URI.create(cc.internalUrl()),
                clientCertificate ? pki.file("client.pem") : null, clientCertificate ? pki.file("client-key.pem") : null,
                URI.create(cc.apiUrl() + "/uaa/"), FakeCloudController.CLIENT, secret, ca, skipTls, null, Duration.ofSeconds(5), null));
    }

    @Test
    void theCallsInTheCloudControllersShapes() {
        CloudControllerClient client = client(pki.file("ca.pem"), false, true, FakeCloudController.SECRET);
        assertThat(client.securityGroupsLastUpdate()).hasValue(cc.lastUpdateMark());
        assertThat(client.securityGroups()).hasSize(5);
        assertThat(client.appSpaces(List.of("app-1", "app-unknown"))).isEqualTo(Map.of("app-1", "space-1"));
        assertThat(client.developerSpaces("user-1", List.of("space-1", "space-2"))).isEqualTo(Set.of("space-1"));
        assertThat(client.developerSpaces("user-2", List.of("space-1"))).isEmpty();
    }

    @Test
    void skipTlsValidationTrustsAnyServerAndWithoutItAnUnknownCaIsRefused() {
        assertThat(client(null, true, true, FakeCloudController.SECRET).appSpaces(List.of("app-1"))).containsKey("app-1");
        assertThatThrownBy(() -> client(null, false, true, FakeCloudController.SECRET).appSpaces(List.of("app-1")))
                .isInstanceOf(CloudControllerException.class)
                .hasMessageStartingWith("POST " + cc.apiUrl() + "/uaa/oauth/token: SSLHandshakeException");
    }

    @Test
    void theInternalApiNeedsTheClientCertificate() {
        assertThatThrownBy(() -> client(pki.file("ca.pem"), false, false, FakeCloudController.SECRET).securityGroupsLastUpdate())
                .isInstanceOf(CloudControllerException.class).hasMessageStartingWith("GET /internal/v4/asg_latest_update: ");
    }

    @Test
    void errorsNameTheCallThePageAndTheAnswer() {
        CloudControllerClient client = client(pki.file("ca.pem"), false, true, FakeCloudController.SECRET);
        cc.beforePageTwo = () -> cc.down = true; // page 2 still answered, page 3 not
        try {
            assertThatThrownBy(client::securityGroups).isInstanceOf(CloudControllerException.class)
                    .hasMessage("GET /v3/security_groups page 3: 503: Server error");
        } finally {
            cc.down = false;
        }
        assertThatThrownBy(() -> client(pki.file("ca.pem"), false, true, "wrong").securityGroups())
                .isInstanceOf(CloudControllerException.class)
                .hasMessageStartingWith("POST " + cc.apiUrl() + "/uaa/oauth/token: 401: ").hasMessageContaining("Bad credentials");
    }
}
