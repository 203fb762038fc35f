package io.silk.daemon.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.daemon.TestLeases;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lease on disk keeps the shape it has always had: a daemon upgraded in place reads the old file. */
class StateFileTest {

    /** lease.json as the daemon wrote it when HeldLease was a record of strings. */
    static final String TODAYS_FORMAT = """
            {
              "underlayIp" : "10.0.0.5",
              "subnet" : "10.255.17.0/24",
              "vtepMac" : "ee:ee:0a:ff:11:00",
              "overlayNetwork" : "10.255.0.0/16"
            }""";

    static final HeldLease LEASE = TestLeases.held("10.0.0.5", "10.255.17.0/24", "ee:ee:0a:ff:11:00", "10.255.0.0/16");

    @TempDir
    Path dir;

    @Test
    void readsTheStateFileOfTheDaemonBeforeTheUpgrade() throws Exception {
        Path file = dir.resolve("lease.json");
        Files.writeString(file, TODAYS_FORMAT);

        assertThat(new StateFile<>(file, HeldLease.class).read()).contains(LEASE);
    }

    @Test
    void writesTheSameShape() throws Exception {
        Path file = dir.resolve("lease.json");
        new StateFile<>(file, HeldLease.class).write(LEASE);

        assertThat(Files.readString(file)).isEqualToIgnoringNewLines(TODAYS_FORMAT);
        assertThat(new StateFile<>(file, HeldLease.class).read()).contains(LEASE);
    }

    @Test
    void aValueThatDoesNotParseNamesItsField() throws Exception {
        Path file = dir.resolve("lease.json");
        Files.writeString(file, TODAYS_FORMAT.replace("10.255.17.0/24", "10.255.17.0/40"));

        assertThatThrownBy(() -> new StateFile<>(file, HeldLease.class).read())
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("read state file " + file)
                .hasMessageContaining("subnet \"10.255.17.0/40\" has a prefix length above 32");

        Files.writeString(file, TODAYS_FORMAT.replace("\"ee:ee:0a:ff:11:00\"", "42"));
        assertThatThrownBy(() -> new StateFile<>(file, HeldLease.class).read())
                .hasMessageContaining("vtepMac is not a string");

        Files.writeString(file, TODAYS_FORMAT.replace("  \"vtepMac\" : \"ee:ee:0a:ff:11:00\",\n", ""));
        assertThatThrownBy(() -> new StateFile<>(file, HeldLease.class).read())
                .hasMessageContaining("vtepMac");
    }
}
