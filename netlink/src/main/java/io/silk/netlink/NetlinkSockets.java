package io.silk.netlink;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/** What every netlink socket of this module does the same way: open and bind, and be made in a namespace. */
final class NetlinkSockets {

    private NetlinkSockets() {}

    /** A bound netlink socket of {@code protocol} in the caller's namespace; {@code what} names it in errors. */
    static int open(int protocol, String what) {
        var s = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, protocol);
        if (s.failed()) {
            throw new NetlinkException("open " + what, s.errno());
        }
        int fd = (int) s.value();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(12); // sockaddr_nl, pid 0: the kernel picks
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_NETLINK);
            var b = Libc.bind(fd, addr, 12);
            if (b.failed()) {
                Libc.close(fd);
                throw new NetlinkException("bind " + what, b.errno());
            }
        }
        return fd;
    }

    /** Sends {@code length} bytes of {@code bytes} in one call; a short send is an error. */
    static void send(int fd, byte[] bytes, int length, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(length);
            MemorySegment.copy(bytes, 0, out, ValueLayout.JAVA_BYTE, 0, length);
            var sent = Libc.send(fd, out, length);
            if (sent.failed()) {
                throw new NetlinkException(what + ": send", sent.errno());
            }
            if (sent.value() != length) {
                throw new IllegalStateException(what + ": sent only " + sent.value() + " of " + length + " bytes");
            }
        }
    }

    /**
     * Runs {@code make} on a throwaway thread that joins the network namespace at {@code netns}, so
     * no thread of the caller ever changes namespace; a socket made there stays in that namespace.
     */
    static <T> T inNamespace(Path netns, String what, Supplier<T> make) {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("netns-open").unstarted(() -> {
            try {
                Netlink.enter(netns);
                result.set(make.get());
            } catch (RuntimeException e) {
                result.set(e);
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted opening " + what + " in " + netns, e);
        }
        if (result.get() instanceof RuntimeException e) {
            throw e;
        }
        @SuppressWarnings("unchecked")
        T made = (T) result.get();
        return made;
    }
}
