package io.silk.daemon.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.values.Ipv4Network;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AddressBookTest {

    static final Ipv4Network SUBNET = Ipv4Network.parse("10.255.7.0/24", "subnet");
    static final Ipv4Network SMALL = Ipv4Network.parse("10.255.7.0/29", "subnet");

    @TempDir
    Path dir;

    @Test
    void handsOutFromDotTwoUpwardReusesFreedAddressesAndSurvivesRestarts() {
        AddressBook book = new AddressBook(dir);
        assertThat(book.allocate(SUBNET, "c1", "eth0", "s-1", "app").ip()).isEqualTo("10.255.7.2");
        assertThat(book.allocate(SUBNET, "c2", "eth0", "s-2", "app").ip()).isEqualTo("10.255.7.3");
        // The same attachment gets the same address back.
        assertThat(book.allocate(SUBNET, "c1", "eth0", "s-1", "app").ip()).isEqualTo("10.255.7.2");
        book.release("c1", "eth0");
        assertThat(book.allocate(SUBNET, "c3", "eth0", "s-3", "app").ip()).isEqualTo("10.255.7.2");

        AddressBook reread = new AddressBook(dir);
        assertThat(reread.all()).extracting(AddressBook.Attachment::ip).containsExactlyInAnyOrder("10.255.7.2", "10.255.7.3");
        assertThat(reread.find("c2", "eth0")).get().extracting(AddressBook.Attachment::hostInterface).isEqualTo("s-2");
    }

    @Test
    void aFullSubnetSaysSo() {
        AddressBook book = new AddressBook(dir);
        // A /29 has .2 to .6.
        for (int i = 0; i < 5; i++) {
            book.allocate(SMALL, "c" + i, "eth0", "s", "");
        }
        assertThatThrownBy(() -> book.allocate(SMALL, "c9", "eth0", "s", ""))
                .hasMessageContaining("no free address in 10.255.7.0/29");
    }

    @Test
    void readsTheAddressBookOfTheDaemonBeforeTheUpgrade() throws Exception {
        Files.writeString(dir.resolve("containers.json"), """
                {
                  "attachments" : [ {
                    "containerId" : "c1",
                    "ifname" : "eth0",
                    "ip" : "10.255.7.2",
                    "hostInterface" : "s-1",
                    "appId" : "app"
                  } ]
                }""");
        AddressBook book = new AddressBook(dir);
        assertThat(book.find("c1", "eth0")).get().extracting(AddressBook.Attachment::ip).isEqualTo("10.255.7.2");
        assertThat(book.allocate(SUBNET, "c2", "eth0", "s-2", "app").ip()).isEqualTo("10.255.7.3");
        assertThat(Files.readString(dir.resolve("containers.json")))
                .contains("\"containerId\" : \"c1\"", "\"ip\" : \"10.255.7.2\"", "\"appId\" : \"app\"")
                .doesNotContain("address", "key");
        assertThat(book.find("c1", "eth0").get().metadata()).isEqualTo(ContainerMetadata.app("app"));
    }

    @Test
    void aHostPortIsMappedToOneContainerOnly() {
        AddressBook book = new AddressBook(dir);
        var mapping = java.util.List.of(new ContainerMetadata.PortMapping(61001, 8080, "tcp"));
        book.allocate(SUBNET, "c1", "eth0", "s-1", new ContainerMetadata("a", "", "", "", mapping));
        assertThatThrownBy(() -> book.allocate(SUBNET, "c2", "eth0", "s-2", new ContainerMetadata("b", "", "", "", mapping)))
                .isInstanceOf(AddressBook.HostPortTaken.class).hasMessage("host port tcp/61001 is already mapped to container \"c1\"");
        assertThat(book.find("c2", "eth0")).as("nothing allocated").isEmpty();
        assertThat(book.allocate(SUBNET, "c3", "eth0", "s-3", new ContainerMetadata("b", "", "", "",
                java.util.List.of(new ContainerMetadata.PortMapping(61001, 8080, "udp")))).ip()).as("udp is another port").isNotNull();
    }

    @Test
    void keepsTheRuntimesMetadataAcrossRestarts() {
        ContainerMetadata m = new ContainerMetadata("app-guid", "space-guid", "org-guid", "task",
                java.util.List.of(new ContainerMetadata.PortMapping(61001, 8080, "tcp")));
        new AddressBook(dir).allocate(SUBNET, "c1", "eth0", "s-1", m);
        assertThat(new AddressBook(dir).find("c1", "eth0").get().metadata()).isEqualTo(m);
    }

    @Test
    void anAddressInTheFileThatDoesNotParseNamesTheAttachment() throws Exception {
        Files.writeString(dir.resolve("containers.json"), """
                {"attachments": [{"containerId": "c1", "ifname": "eth0", "ip": "10.255.7.300",
                  "hostInterface": "s-1", "appId": "app"}]}""");
        assertThatThrownBy(() -> new AddressBook(dir))
                .hasMessage("container ip of c1/eth0 \"10.255.7.300\" has an octet above 255");
    }

    @Test
    void aSlash30HasOneAddressAndTheWholeRangeIsReachable() {
        AddressBook book = new AddressBook(dir);
        assertThat(book.allocate(Ipv4Network.parse("10.255.255.252/30", "s"), "c1", "eth0", "s", "").ip())
                .isEqualTo("10.255.255.254");
        assertThatThrownBy(() -> book.allocate(Ipv4Network.parse("10.255.255.252/30", "s"), "c2", "eth0", "s", ""))
                .hasMessageContaining("no free address in 10.255.255.252/30");
    }
}
