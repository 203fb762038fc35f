package io.silk.daemon.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AddressBookTest {

    @TempDir
    Path dir;

    @Test
    void handsOutFromDotTwoUpwardReusesFreedAddressesAndSurvivesRestarts() {
        AddressBook book = new AddressBook(dir);
        assertThat(book.allocate("10.255.7.0/24", "c1", "eth0", "s-1", "app").ip()).isEqualTo("10.255.7.2");
        assertThat(book.allocate("10.255.7.0/24", "c2", "eth0", "s-2", "app").ip()).isEqualTo("10.255.7.3");
        // The same attachment gets the same address back.
        assertThat(book.allocate("10.255.7.0/24", "c1", "eth0", "s-1", "app").ip()).isEqualTo("10.255.7.2");
        book.release("c1", "eth0");
        assertThat(book.allocate("10.255.7.0/24", "c3", "eth0", "s-3", "app").ip()).isEqualTo("10.255.7.2");

        AddressBook reread = new AddressBook(dir);
        assertThat(reread.all()).extracting(AddressBook.Attachment::ip).containsExactlyInAnyOrder("10.255.7.2", "10.255.7.3");
        assertThat(reread.find("c2", "eth0")).get().extracting(AddressBook.Attachment::hostInterface).isEqualTo("s-2");
    }

    @Test
    void aFullSubnetSaysSo() {
        AddressBook book = new AddressBook(dir);
        // A /29 has .2 to .6.
        for (int i = 0; i < 5; i++) {
            book.allocate("10.255.7.0/29", "c" + i, "eth0", "s", "");
        }
        assertThatThrownBy(() -> book.allocate("10.255.7.0/29", "c9", "eth0", "s", ""))
                .hasMessageContaining("no free address in 10.255.7.0/29");
    }
}
