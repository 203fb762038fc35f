package io.silk.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.values.Ipv4Address;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** NFLOG read through netlink, with real packets logged by real nftables rules, in namespaces made for the test. */
class NflogTest {

    static final int GROUP = 7;
    static final Ipv4Address LOOPBACK = Ipv4Address.parse("127.0.0.1", "loopback");
    static final Duration WAIT = Duration.ofSeconds(5);

    /** The mark is set before "log" in the first rule and after it in the second. */
    static final String RULES = """
            table inet silktest {
              chain out {
                type filter hook output priority 0; policy accept;
                meta l4proto udp udp dport 9999 meta mark set 0x2a log group %1$d prefix "silk-deny-in"
                meta l4proto udp udp dport 9998 log group %1$d prefix "mark-after" meta mark set 0x2b
                meta l4proto icmp log group %1$d prefix "icmp-test"
                meta l4proto ipv6-icmp log group %1$d prefix "icmp6-test"
              }
            }
            """.formatted(GROUP);

    @Test
    void udpAndIcmpPacketsWithPrefixMarkAddressesPortsAndLength() {
        try (var ns = namespace("nflog", null); var nflog = NflogSocket.openIn(ns.path(), GROUP)) {
            assertThat(nflog.group()).isEqualTo(GROUP);

            sendUdp(ns, "127.0.0.1", 9999, "hello");
            NflogPacket udp = await(nflog, p -> p.prefix().equals("silk-deny-in"));
            assertThat(udp.group()).isEqualTo(GROUP);
            assertThat(udp.mark()).isEqualTo(0x2a);
            assertThat(udp.protocol()).isEqualTo(NflogPacket.UDP);
            assertThat(udp.source()).isEqualTo(LOOPBACK);
            assertThat(udp.destination()).isEqualTo(LOOPBACK);
            assertThat(udp.destinationPort()).isEqualTo(9999);
            assertThat(udp.sourcePort()).isBetween(1, 65535);
            assertThat(udp.icmpType()).isEqualTo(-1);
            assertThat(udp.icmpCode()).isEqualTo(-1);
            assertThat(udp.length()).isEqualTo(20 + 8 + 5); // IPv4 + UDP headers + "hello"
            assertThat(udp.outInterface()).isEqualTo(1); // lo, on the output hook
            assertThat(udp.inInterface()).isZero();

            // A mark set after "log" in the same rule is not seen: statements run left to right.
            sendUdp(ns, "127.0.0.1", 9998, "x");
            NflogPacket after = await(nflog, p -> p.prefix().equals("mark-after"));
            assertThat(after.mark()).isZero();
            assertThat(after.destinationPort()).isEqualTo(9998);

            ns.exec("ping", "-c1", "-W2", "127.0.0.1");
            NflogPacket ping = await(nflog, p -> p.prefix().equals("icmp-test") && p.icmpType() == 8);
            assertThat(ping.protocol()).isEqualTo(NflogPacket.ICMP);
            assertThat(ping.icmpCode()).isZero();
            assertThat(ping.source()).isEqualTo(LOOPBACK);
            assertThat(ping.destination()).isEqualTo(LOOPBACK);
            assertThat(ping.sourcePort()).isEqualTo(-1);
            assertThat(ping.destinationPort()).isEqualTo(-1);
            assertThat(ping.length()).isEqualTo(20 + 8 + 56); // ping's default 56 bytes of data
            assertThat(ping.mark()).isZero();

            if (Files.isDirectory(Path.of("/proc/sys/net/ipv6"))) {
                // IPv6 packets are logged too, but skipped: they come before the next UDP packet.
                long skipped = nflog.skipped();
                ns.exec("ping", "-6", "-c1", "-W2", "::1");
                sendUdp(ns, "127.0.0.1", 9999, "again");
                NflogPacket next = await(nflog, p -> p.prefix().equals("silk-deny-in"));
                assertThat(next.length()).isEqualTo(20 + 8 + 5);
                assertThat(nflog.skipped()).isGreaterThan(skipped);
            }
            assertThat(nflog.overruns()).isZero();
        }
    }

    @Test
    void closeUnblocksABlockedReaderAtOnce() throws InterruptedException {
        try (var ns = namespace("nflogc", null)) {
            NflogSocket nflog = NflogSocket.openIn(ns.path(), GROUP);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().name("nflog-reader").start(() -> {
                try {
                    outcome.set(nflog.receive());
                } catch (RuntimeException e) {
                    outcome.set(e);
                }
            });
            try {
                awaitBlockedInPoll(reader);
                long start = System.nanoTime();
                nflog.close();
                assertThat(reader.join(Duration.ofSeconds(1))).as("reader ended within a second of close").isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
                assertThat(outcome.get()).isInstanceOf(IllegalStateException.class);
                assertThat(((Exception) outcome.get()).getMessage()).isEqualTo("nflog group 7: socket closed");
                assertThat(nflog.isClosed()).isTrue();
                assertThatThrownBy(nflog::receive).isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> nflog.receive(Duration.ZERO)).isInstanceOf(IllegalStateException.class);
                nflog.close(); // again: nothing
            } finally {
                nflog.close();
                reader.join(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void receiveWithATimeoutReturnsNothingWhenNothingIsLogged() {
        try (var ns = namespace("nflogt", null); var nflog = NflogSocket.openIn(ns.path(), GROUP)) {
            long start = System.nanoTime();
            assertThat(nflog.receive(Duration.ofMillis(200))).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
            assertThat(nflog.receive(Duration.ZERO)).isEmpty();
        }
    }

    @Test
    void eachNamespaceHasItsOwnGroupsAndAGroupHasOneReader() {
        try (var a = namespace("nfloga", "10.1.0.1"); var b = namespace("nflogb", "10.2.0.1");
             var inA = NflogSocket.openIn(a.path(), GROUP); var inB = NflogSocket.openIn(b.path(), GROUP)) {
            assertThatThrownBy(() -> NflogSocket.openIn(a.path(), GROUP))
                    .isInstanceOf(NetlinkException.class)
                    .hasMessage("bind nflog group 7 (another socket in this network namespace reads it): EBUSY (device or resource busy)")
                    .satisfies(e -> assertThat(((NetlinkException) e).errno()).isEqualTo(16));

            sendUdp(a, "10.1.0.1", 9999, "a");
            sendUdp(b, "10.2.0.1", 9999, "bb");
            List<NflogPacket> seenInA = new ArrayList<>();
            List<NflogPacket> seenInB = new ArrayList<>();
            NflogPacket fromA = await(inA, p -> p.prefix().equals("silk-deny-in"), seenInA);
            NflogPacket fromB = await(inB, p -> p.prefix().equals("silk-deny-in"), seenInB);
            assertThat(fromA.source()).isEqualTo(Ipv4Address.parse("10.1.0.1", "a"));
            assertThat(fromA.length()).isEqualTo(29);
            assertThat(fromB.source()).isEqualTo(Ipv4Address.parse("10.2.0.1", "b"));
            assertThat(fromB.length()).isEqualTo(30);
            // A's packet was logged before B's; had B's socket got it, it would have come first.
            seenInA.addAll(inA.receive(Duration.ZERO));
            seenInB.addAll(inB.receive(Duration.ZERO));
            assertThat(seenInA).allSatisfy(p -> assertThat(p.source().toString()).isEqualTo("10.1.0.1"));
            assertThat(seenInB).allSatisfy(p -> assertThat(p.source().toString()).isEqualTo("10.2.0.1"));

            // Closing the socket frees the group: a new reader binds it.
            inA.close();
            try (var again = NflogSocket.openIn(a.path(), GROUP)) {
                sendUdp(a, "10.1.0.1", 9999, "ccc");
                assertThat(await(again, p -> p.prefix().equals("silk-deny-in")).length()).isEqualTo(31);
            }
        }
    }

    @Test
    void anOverrunIsCountedAndReadingGoesOn() {
        try (var ns = namespace("nflogo", null); var nflog = NflogSocket.openIn(ns.path(), GROUP)) {
            // Far more than the receive buffer holds: every logged packet is its own datagram,
            // which takes some 800 bytes of it (about 2,500 fit in the 1 MiB asked, doubled by the kernel).
            sendUdp(ns, "127.0.0.1", 9999, "flood", 20_000);
            int read = 0;
            List<NflogPacket> got;
            while (!(got = nflog.receive(Duration.ZERO)).isEmpty()) {
                read += got.size();
            }
            assertThat(nflog.overruns()).isPositive();
            assertThat(read).isPositive().isLessThan(20_000);

            sendUdp(ns, "127.0.0.1", 9999, "after the flood");
            assertThat(await(nflog, p -> p.prefix().equals("silk-deny-in") && p.length() == 20 + 8 + 15)).isNotNull();
        }
    }

    @Test
    void openInAMissingNamespaceSaysWhich() {
        assertThatThrownBy(() -> NflogSocket.openIn(Path.of("/var/run/netns/nflog-missing-0"), GROUP))
                .isInstanceOf(NetlinkException.class)
                .hasMessageContaining("/var/run/netns/nflog-missing-0");
        assertThatThrownBy(() -> NflogSocket.open(70000)).isInstanceOf(IllegalArgumentException.class);
    }

    /** nfnetlink's attribute values are big-endian: a hand-made message, read back. */
    @Test
    void parsesBigEndianAttributesAndTheIpv4Header() {
        byte[] ip = {
            0x46, 0, 0, 60, 0, 0, 0, 0, 64, 6, 0, 0, // IHL 6 (24 bytes with options), total length 60, TCP
            10, (byte) 255, 1, 2, 10, (byte) 255, 3, 4, 1, 1, 1, 1, // src, dst, options
            (byte) 0x9c, 0x40, 0x1f, (byte) 0x90}; // ports 40000 -> 8080
        ByteBuffer m = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        m.put((byte) 2).put((byte) 0).put((byte) 0x12).put((byte) 0x34); // nfgenmsg: AF_INET, v0, res_id 0x1234 big-endian
        attr(m, 1, new byte[] {0x08, 0x00, 3, 0}); // packet header: hw_protocol, hook
        attr(m, 2, new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef}); // mark
        attr(m, 4, new byte[] {0, 0, 1, 2}); // in 258
        attr(m, 5, new byte[] {0, 0, 0, 7}); // out 7
        attr(m, 10, "deny\0".getBytes(StandardCharsets.US_ASCII));
        attr(m, 9, ip);
        NflogPacket p = NflogPacket.parse(m.flip());
        assertThat(p).isEqualTo(new NflogPacket(0x1234, "deny", 0xdeadbeefL, 6, Ipv4Address.parse("10.255.1.2", "s"),
                Ipv4Address.parse("10.255.3.4", "d"), 40000, 8080, -1, -1, 60, 258, 7));

        // A fragment after the first carries no transport header.
        ip[6] = 0x00;
        ip[7] = 0x10;
        m.clear();
        m.put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 7);
        attr(m, 9, ip);
        NflogPacket fragment = NflogPacket.parse(m.flip());
        assertThat(fragment.sourcePort()).isEqualTo(-1);
        assertThat(fragment.destinationPort()).isEqualTo(-1);
        assertThat(fragment.mark()).isZero();
        assertThat(fragment.prefix()).isEmpty();
        assertThat(fragment.group()).isEqualTo(7);

        // IPv6 (family 10) is not read.
        m.clear();
        m.put((byte) 10).put((byte) 0).put((byte) 0).put((byte) 7);
        attr(m, 9, new byte[40]);
        assertThat(NflogPacket.parse(m.flip())).isNull();
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static void attr(ByteBuffer m, int type, byte[] value) {
        m.putShort((short) (4 + value.length)).putShort((short) type).put(value);
        while ((m.position() & 3) != 0) {
            m.put((byte) 0);
        }
    }

    /** A fresh namespace with lo up (plus an address), the test's rules loaded; removed if setting up fails. */
    private static TestNamespace namespace(String prefix, String extraAddress) {
        TestNamespace ns = TestNamespace.create(prefix);
        try {
            ns.exec("ip", "link", "set", "lo", "up");
            if (extraAddress != null) {
                ns.exec("ip", "address", "add", extraAddress + "/32", "dev", "lo");
            }
            Path rules = Files.createTempFile("nflog-test", ".nft");
            try {
                Files.writeString(rules, RULES);
                ns.exec("nft", "-f", rules.toString());
            } finally {
                Files.deleteIfExists(rules);
            }
            return ns;
        } catch (IOException e) {
            ns.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | Error e) {
            ns.close();
            throw e;
        }
    }

    /** Sends one UDP datagram from inside the namespace (a throwaway thread joins it). */
    private static void sendUdp(TestNamespace ns, String to, int port, String payload) {
        sendUdp(ns, to, port, payload, 1);
    }

    private static void sendUdp(TestNamespace ns, String to, int port, String payload, int times) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("udp-in-" + ns.name()).start(() -> {
            try {
                Netlink.enter(ns.path());
                byte[] data = payload.getBytes(StandardCharsets.US_ASCII);
                try (var s = new DatagramSocket()) {
                    var packet = new DatagramPacket(data, data.length, InetAddress.getByName(to), port);
                    for (int i = 0; i < times; i++) {
                        s.send(packet);
                    }
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (failure.get() != null) {
            throw new IllegalStateException("send UDP in " + ns.name(), failure.get());
        }
    }

    private static NflogPacket await(NflogSocket nflog, Predicate<NflogPacket> wanted) {
        return await(nflog, wanted, new ArrayList<>());
    }

    /** Reads until a wanted packet comes, at most {@link #WAIT}; every packet read is added to {@code seen}. */
    private static NflogPacket await(NflogSocket nflog, Predicate<NflogPacket> wanted, List<NflogPacket> seen) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (NflogPacket p : nflog.receive(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                seen.add(p);
                if (wanted.test(p)) {
                    return p;
                }
            }
        }
        throw new AssertionError("no such packet within " + WAIT + "; got " + seen);
    }

    /** Waits until the thread is inside poll(2) in receive() (its stack shows Libc.poll), at most 5 s. */
    private static void awaitBlockedInPoll(Thread reader) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            if (Arrays.stream(reader.getStackTrace())
                    .anyMatch(f -> f.getClassName().equals(Libc.class.getName()) && f.getMethodName().equals("poll"))) {
                return;
            }
            LockSupport.parkNanos(1_000_000);
        }
        throw new AssertionError("the reader never blocked in poll: " + Arrays.toString(reader.getStackTrace()));
    }
}
