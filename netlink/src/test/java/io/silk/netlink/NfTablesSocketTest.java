package io.silk.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Set elements written through nf_tables netlink, against the real kernel, in namespaces made for the test. */
class NfTablesSocketTest {

    static final String TABLE = """
            table inet t {
              map tag { type ipv4_addr : mark; }
              set port { type ipv4_addr . mark . inet_proto . inet_service; counter; }
              set range { type ipv4_addr . mark . inet_proto . inet_service; flags interval; counter; }
              set icmp4 { type ipv4_addr . icmp_type . icmp_code; }
            }
            """;
    static final int TCP = 6, UDP = 17;

    @Test
    void addsMapSetAndRangeElementsAsNftShowsThem() {
        inTable(ns -> {
            try (var nft = NfTablesSocket.openIn(ns.path())) {
                var b = nft.batch()
                        .add("t", "tag", ip("10.255.1.2"), null, markHost(0x5))
                        .add("t", "port", portKey("10.255.1.3", 0x1, TCP, 8080), null, null)
                        .add("t", "range", rangeKey("10.255.1.3", 0x1, TCP, 9000), rangeKey("10.255.1.3", 0x1, TCP, 9100), null)
                        .add("t", "icmp4", concat(ip("10.255.1.3"), u8(8), u8(3)), null, null);
                assertThat(b.size()).isEqualTo(4);
                b.commit();
                b.commit(); // again: adding what exists is no error
            }
            assertThat(elements(ns, "map", "tag")).isEqualTo("10.255.1.2 : 0x00000005");
            // The set's counter is attached to each element added through netlink.
            assertThat(elements(ns, "set", "port")).isEqualTo("10.255.1.3 . 0x00000001 . tcp . 8080 counter packets 0 bytes 0");
            assertThat(elements(ns, "set", "range")).isEqualTo("10.255.1.3 . 0x00000001 . tcp . 9000-9100 counter packets 0 bytes 0");
            assertThat(elements(ns, "set", "icmp4")).isEqualTo("10.255.1.3 . echo-request . port-unreachable");
            // nft reads them back to the same bytes it writes itself (its own notation, through its parser).
            ns.exec("nft", "add", "element", "inet", "t", "port", "{ 10.255.1.3 . 0x1 . tcp . 8080 }");
            ns.exec("nft", "add", "element", "inet", "t", "range", "{ 10.255.1.3 . 0x1 . tcp . 9000-9100 }");
            assertThat(elements(ns, "set", "port")).isEqualTo("10.255.1.3 . 0x00000001 . tcp . 8080 counter packets 0 bytes 0");
            assertThat(elements(ns, "set", "range")).isEqualTo("10.255.1.3 . 0x00000001 . tcp . 9000-9100 counter packets 0 bytes 0");
        });
    }

    @Test
    void flushAndAddInOneTransactionThenDelete() {
        inTable(ns -> {
            try (var nft = NfTablesSocket.openIn(ns.path())) {
                nft.batch().add("t", "port", portKey("10.255.1.3", 0x1, TCP, 8080), null, null)
                        .add("t", "port", portKey("10.255.1.3", 0x1, TCP, 8081), null, null)
                        .commit();
                assertThat(elements(ns, "set", "port")).contains("8080", "8081");

                nft.batch().flush("t", "port")
                        .add("t", "port", portKey("10.255.1.4", 0x2, UDP, 53), null, null)
                        .add("t", "port", portKey("10.255.1.5", 0x12345678, TCP, 443), null, null)
                        .add("t", "port", portKey("10.255.1.3", 0x1, TCP, 8080), null, null) // flushed, then back
                        .commit();
                String after = elements(ns, "set", "port");
                assertThat(after).contains("10.255.1.4 . 0x00000002 . udp . 53", "10.255.1.5 . 0x12345678 . tcp . 443",
                        "10.255.1.3 . 0x00000001 . tcp . 8080").doesNotContain("8081");
                assertThat(count(after)).isEqualTo(3);

                nft.batch().delete("t", "port", portKey("10.255.1.4", 0x2, UDP, 53), null).commit();
                after = elements(ns, "set", "port");
                assertThat(after).doesNotContain("10.255.1.4");
                assertThat(count(after)).isEqualTo(2);

                nft.batch().add("t", "range", rangeKey("10.255.1.3", 0x1, TCP, 9000), rangeKey("10.255.1.3", 0x1, TCP, 9100), null)
                        .commit();
                nft.batch().delete("t", "range", rangeKey("10.255.1.3", 0x1, TCP, 9000), rangeKey("10.255.1.3", 0x1, TCP, 9100))
                        .add("t", "range", rangeKey("10.255.1.3", 0x1, TCP, 9050), rangeKey("10.255.1.3", 0x1, TCP, 9200), null)
                        .commit(); // deletes before adds: the new range may overlap the one removed
                assertThat(elements(ns, "set", "range")).isEqualTo("10.255.1.3 . 0x00000001 . tcp . 9050-9200 counter packets 0 bytes 0");

                // A single value in a set with flags interval: no key end needed.
                nft.batch().add("t", "range", rangeKey("10.255.1.7", 0x2, UDP, 53), null, null).commit();
                assertThat(elements(ns, "set", "range")).contains("10.255.1.7 . 0x00000002 . udp . 53 counter packets 0 bytes 0");
                nft.batch().delete("t", "range", rangeKey("10.255.1.7", 0x2, UDP, 53), null).commit();
                assertThat(elements(ns, "set", "range")).isEqualTo("10.255.1.3 . 0x00000001 . tcp . 9050-9200 counter packets 0 bytes 0");
            }
        });
    }

    @Test
    void aRefusedBatchChangesNothingAndNamesTheElement() {
        inTable(ns -> {
            try (var nft = NfTablesSocket.openIn(ns.path())) {
                nft.batch().add("t", "port", portKey("10.255.1.3", 0x1, TCP, 8080), null, null)
                        .add("t", "range", rangeKey("10.255.1.3", 0x1, TCP, 9000), rangeKey("10.255.1.3", 0x1, TCP, 9100), null)
                        .commit();
                String port = elements(ns, "set", "port");
                String range = elements(ns, "set", "range");

                // Deleting a missing element: ENOENT, and the flush and adds before it are undone.
                var missing = nft.batch().flush("t", "port")
                        .add("t", "port", portKey("10.255.1.9", 0x1, TCP, 1), null, null)
                        .add("t", "range", rangeKey("10.255.1.9", 0x1, TCP, 1), rangeKey("10.255.1.9", 0x1, TCP, 2), null)
                        .delete("t", "port", portKey("10.255.1.8", 0x1, TCP, 1), null);
                assertThatThrownBy(missing::commit)
                        .isInstanceOf(NetlinkException.class)
                        .satisfies(e -> System.out.println("NfTablesSocketTest: " + e.getMessage()))
                        .satisfies(e -> assertThat(((NetlinkException) e).notFound()).isTrue())
                        .hasMessageContaining("nftables batch aborted, nothing applied: delete 1 element from inet t port")
                        .hasMessageContaining("operation 4 of 4")
                        .hasMessageContaining("key 0aff0108 01000000 06000000 00010000")
                        .hasMessageContaining("ENOENT");
                assertThat(elements(ns, "set", "port")).isEqualTo(port);
                assertThat(elements(ns, "set", "range")).isEqualTo(range);

                // A range overlapping another: EEXIST, the third element of the message.
                var overlap = nft.batch()
                        .add("t", "range", rangeKey("10.255.1.4", 0x1, TCP, 1), rangeKey("10.255.1.4", 0x1, TCP, 2), null)
                        .add("t", "range", rangeKey("10.255.1.4", 0x1, TCP, 3), rangeKey("10.255.1.4", 0x1, TCP, 4), null)
                        .add("t", "range", rangeKey("10.255.1.3", 0x1, TCP, 9050), rangeKey("10.255.1.3", 0x1, TCP, 9200), null)
                        .add("t", "range", rangeKey("10.255.1.4", 0x1, TCP, 5), rangeKey("10.255.1.4", 0x1, TCP, 6), null);
                assertThatThrownBy(overlap::commit)
                        .isInstanceOf(NetlinkException.class)
                        .satisfies(e -> System.out.println("NfTablesSocketTest: " + e.getMessage()))
                        .satisfies(e -> assertThat(((NetlinkException) e).exists()).isTrue())
                        .hasMessageContaining("add 4 elements to inet t range, element 3 of 4 (element 3 of message 1 of 1, operation 3 of 4)")
                        .hasMessageContaining("EEXIST");
                assertThat(elements(ns, "set", "range")).isEqualTo(range);

                // A set that does not exist: the message, not an element, is named.
                assertThatThrownBy(() -> nft.batch().add("t", "port", portKey("10.255.1.5", 0x1, TCP, 1), null, null)
                                .add("t", "nope", portKey("10.255.1.5", 0x1, TCP, 1), null, null).commit())
                        .isInstanceOf(NetlinkException.class)
                        .satisfies(e -> System.out.println("NfTablesSocketTest: " + e.getMessage()))
                        .hasMessageContaining("add 1 element to inet t nope (message 2 of 2)")
                        .hasMessageContaining("ENOENT");
                assertThat(elements(ns, "set", "port")).isEqualTo(port);

                // The socket is still good for the next batch.
                nft.batch().add("t", "port", portKey("10.255.1.6", 0x1, TCP, 1), null, null).commit();
                assertThat(count(elements(ns, "set", "port"))).isEqualTo(2);
            }
        });
    }

    @Test
    void loadsOneHundredThousandElementsInOneTransaction() {
        inTable(ns -> {
            try (var nft = NfTablesSocket.openIn(ns.path())) {
                int n = 100_000;
                for (int round = 1; round <= 3; round++) {
                    var b = nft.batch();
                    b.flush("t", "port");
                    for (int i = 0; i < n; i++) {
                        byte[] addr = {10, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i};
                        b.add("t", "port", concat(addr, markHost(i % 7 + round), u8(i % 2 == 0 ? TCP : UDP), be16(1024 + i % 50_000)),
                                null, null);
                    }
                    long start = System.nanoTime();
                    b.commit();
                    long ms = (System.nanoTime() - start) / 1_000_000;
                    System.out.printf("NfTablesSocketTest: flush + %d elements (with counters) in one transaction: %d ms (round %d)%n",
                            n, ms, round);
                    assertThat(ms).as("commit of %d elements", n).isLessThan(5_000);
                }
            }
            String json = ns.exec("nft", "-j", "list", "set", "inet", "t", "port");
            assertThat(occurrences(json, "\"concat\"")).isEqualTo(100_000);
            assertThat(occurrences(json, "\"counter\": {")).isEqualTo(100_000);
            assertThat(json).contains("{\"concat\": [\"10.1.134.159\", 7, \"udp\", 51023]}");
        });
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static void inTable(Consumer<TestNamespace> test) {
        try (var ns = TestNamespace.create("nfttest")) {
            Path file = Files.createTempFile("nft-test", ".nft");
            try {
                Files.writeString(file, TABLE);
                ns.exec("nft", "-f", file.toString());
            } finally {
                Files.deleteIfExists(file);
            }
            test.accept(ns);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The elements of a set or map as nft lists them, on one line. */
    private static String elements(TestNamespace ns, String kind, String name) {
        String out = ns.exec("nft", "list", kind, "inet", "t", name);
        int at = out.indexOf("elements = {");
        if (at < 0) {
            return "";
        }
        int end = out.indexOf('}', at);
        return out.substring(at + "elements = {".length(), end).replaceAll("\\s+", " ").trim();
    }

    private static int count(String elements) {
        return elements.isEmpty() ? 0 : elements.split(",").length;
    }

    private static int occurrences(String s, String what) {
        int n = 0;
        for (int at = s.indexOf(what); at >= 0; at = s.indexOf(what, at + what.length())) {
            n++;
        }
        return n;
    }

    static byte[] ip(String dotted) {
        String[] p = dotted.split("\\.");
        return new byte[] {(byte) Integer.parseInt(p[0]), (byte) Integer.parseInt(p[1]), (byte) Integer.parseInt(p[2]),
                (byte) Integer.parseInt(p[3])};
    }

    /** A mark as the kernel keeps it in maps and in sets without flags interval: host order. */
    static byte[] markHost(int mark) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(mark).array();
    }

    /** A mark in the key of a set with flags interval: network order. */
    static byte[] markBe(int mark) {
        return ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(mark).array();
    }

    static byte[] u8(int v) {
        return new byte[] {(byte) v};
    }

    static byte[] be16(int v) {
        return new byte[] {(byte) (v >>> 8), (byte) v};
    }

    /** Fields of a concatenation, each padded with zeros to 4 bytes. */
    static byte[] concat(byte[]... fields) {
        int n = 0;
        for (byte[] f : fields) {
            n += (f.length + 3) & ~3;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] f : fields) {
            b.put(f).position((b.position() + 3) & ~3);
        }
        return b.array();
    }

    static byte[] portKey(String ip, int mark, int proto, int port) {
        return concat(ip(ip), markHost(mark), u8(proto), be16(port));
    }

    static byte[] rangeKey(String ip, int mark, int proto, int port) {
        return concat(ip(ip), markBe(mark), u8(proto), be16(port));
    }
}
