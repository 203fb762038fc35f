package io.silk.netlink;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A reader of the kernel's NFLOG (nfnetlink_log) for one group: the cell daemon's nftables rules
 * end deny (and, if asked, allow) verdicts with {@code log group N prefix "..."}, and this socket
 * hands those packets to the daemon, which turns them into log lines and metrics. Straight
 * netlink through the FFM API; no libnetfilter_log.
 *
 * <p>Opening binds the group (one reader per group per network namespace: a second bind fails,
 * reported as EBUSY although the kernel answers EPERM) and configures it to copy the first
 * {@value #COPY_RANGE} bytes of each packet (IPv4 and transport headers) and to send every packet
 * at once rather than batching them for up to a second. Closing the socket unbinds the group (the
 * kernel drops a group's binding when its socket goes).
 *
 * <p>{@link #receive()} blocks in poll(2) on the socket and an eventfd; {@link #close()} writes
 * the eventfd, so a blocked reader wakes at once and throws {@link IllegalStateException}, then
 * close frees the descriptors once the reader is out. A blocked receive does not answer
 * Thread.interrupt(); close() is the way to stop it. One reader at a time (receives are
 * serialised); use a platform thread, as a virtual one would pin its carrier while blocked. When
 * the kernel drops log messages because the reader fell behind (ENOBUFS), the loss is counted in
 * {@link #overruns()} and reading goes on. Non-IPv4 packets are skipped and counted in
 * {@link #skipped()}.
 */
public final class NflogSocket implements AutoCloseable {

    /** Bytes of each packet copied to userspace: IPv4 header (up to 60) and the transport header's ports/type. */
    public static final int COPY_RANGE = 128;
    /** The socket's receive buffer, so that bursts of denied packets are not lost. */
    public static final int RECEIVE_BUFFER = 1 << 20;

    static final int NETLINK_NETFILTER = 12;
    static final int NFNL_SUBSYS_ULOG = 4;
    static final int NFULNL_MSG_PACKET = NFNL_SUBSYS_ULOG << 8, NFULNL_MSG_CONFIG = (NFNL_SUBSYS_ULOG << 8) | 1;
    static final int NFULA_CFG_CMD = 1, NFULA_CFG_MODE = 2, NFULA_CFG_TIMEOUT = 4, NFULA_CFG_QTHRESH = 5;
    static final int NFULNL_CFG_CMD_BIND = 1;
    static final int NFULNL_COPY_PACKET = 2;
    static final int NLMSG_ERROR = 2;
    static final int F_REQUEST = 1, F_ACK = 4;
    static final int SOL_SOCKET = 1, SO_RCVBUF = 8, SO_RCVBUFFORCE = 33;
    static final int MSG_DONTWAIT = 0x40;
    static final int EPERM = 1, EINTR = 4, EAGAIN = 11, EBUSY = 16, ENOBUFS = 105;
    /** How long to wait for the kernel to acknowledge a configuration message. */
    static final int ACK_TIMEOUT_MILLIS = 5_000;

    private static final int BUFFER = 256 * 1024; // larger than any datagram nfnetlink_log makes (<= 128 KiB)

    private final int group;
    private final int fd;
    private final int wakeFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer = arena.allocate(BUFFER);
    private final MemorySegment pollFds = arena.allocate(16); // two struct pollfd
    private final ReentrantLock reading = new ReentrantLock();
    private final List<NflogPacket> early = new ArrayList<>(); // logged while configuring; guarded by reading
    private volatile boolean closed;
    private volatile long overruns;
    private volatile long skipped;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);
    private int lastAck; // errno of the awaited acknowledgement, 0 for success; guarded by reading

    private NflogSocket(int group, int fd, int wakeFd) {
        this.group = group;
        this.fd = fd;
        this.wakeFd = wakeFd;
        pollFds.set(ValueLayout.JAVA_INT, 0, fd);
        pollFds.set(ValueLayout.JAVA_SHORT, 4, (short) Libc.POLLIN);
        pollFds.set(ValueLayout.JAVA_INT, 8, wakeFd);
        pollFds.set(ValueLayout.JAVA_SHORT, 12, (short) Libc.POLLIN);
    }

    /** Binds {@code group} (0-65535) in the caller's network namespace. */
    public static NflogSocket open(int group) {
        checkGroup(group);
        return configure(group, openSocket(group));
    }

    /**
     * Binds {@code group} in the network namespace at {@code netns} (e.g. /var/run/netns/cell-a):
     * the socket is made on a throwaway thread that joins the namespace, so no thread of the caller
     * ever changes namespace.
     */
    public static NflogSocket openIn(Path netns, int group) {
        checkGroup(group);
        int fd = NetlinkSockets.inNamespace(netns, "nflog group " + group, () -> openSocket(group));
        // The socket belongs to the namespace it was made in; configuring it needs no thread there.
        return configure(group, fd);
    }

    private static void checkGroup(int group) {
        if (group < 0 || group > 0xffff) {
            throw new IllegalArgumentException("nflog group " + group + " is not between 0 and 65535");
        }
    }

    private static int openSocket(int group) {
        return NetlinkSockets.open(NETLINK_NETFILTER, "netfilter netlink socket for nflog group " + group);
    }

    private static NflogSocket configure(int group, int fd) {
        var w = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (w.failed()) {
            Libc.close(fd);
            throw new NetlinkException("make the wake-up eventfd of nflog group " + group, w.errno());
        }
        NflogSocket socket = new NflogSocket(group, fd, (int) w.value());
        try {
            var r = Libc.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER);
            boolean netAdmin = !r.failed(); // SO_RCVBUFFORCE takes CAP_NET_ADMIN (in the initial user namespace)
            if (r.failed()) { // without CAP_NET_ADMIN: capped at net.core.rmem_max
                r = Libc.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, RECEIVE_BUFFER);
                if (r.failed()) {
                    throw new NetlinkException("set the receive buffer of nflog group " + group, r.errno());
                }
            }
            // No NFULNL_CFG_CMD_PF_UNBIND/PF_BIND: they choose the namespace's default logger of a
            // family (for logging without a type, e.g. conntrack's), which nftables' "log group"
            // does not use: it names nfnetlink_log itself.
            try {
                socket.config("bind nflog group " + group, m -> m.attr(NFULA_CFG_CMD, new byte[] {NFULNL_CFG_CMD_BIND}));
            } catch (NetlinkException e) {
                // The kernel answers EPERM, not EBUSY, when another socket has bound the group: it
                // checks the group's owner before the command. With CAP_NET_ADMIN that is the only
                // cause, so say EBUSY; without, it may be either.
                if (e.errno() == EPERM && netAdmin) {
                    throw new NetlinkException("bind nflog group " + group
                            + " (another socket in this network namespace reads it)", EBUSY);
                }
                if (e.errno() == EPERM) {
                    throw new NetlinkException("bind nflog group " + group
                            + " (no CAP_NET_ADMIN, or another socket in this network namespace reads it)", EPERM);
                }
                throw e;
            }
            socket.config("set the copy mode of nflog group " + group + " (packet, " + COPY_RANGE + " bytes)",
                    m -> m.attr(NFULA_CFG_MODE, new byte[] {0, 0, (byte) (COPY_RANGE >>> 8), (byte) COPY_RANGE,
                            (byte) NFULNL_COPY_PACKET, 0}));
            // Send each packet at once: queue threshold 1 message, flush timeout 0 (1/100 s units).
            socket.config("set the queue threshold and flush timeout of nflog group " + group,
                    m -> m.attr(NFULA_CFG_QTHRESH, be32(1)).attr(NFULA_CFG_TIMEOUT, be32(0)));
            return socket;
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private static byte[] be32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** The group this socket reads. */
    public int group() {
        return group;
    }

    /**
     * Times the kernel reported (ENOBUFS) that it dropped log messages because the receive buffer
     * was full: each report stands for one or more lost packets, how many the kernel does not say.
     */
    public long overruns() {
        return overruns;
    }

    /** Logged packets that were not IPv4 and were skipped. */
    public long skipped() {
        return skipped;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Blocks until the kernel logs at least one IPv4 packet to the group and returns what one
     * datagram carried (one packet, or several when the kernel batched them).
     *
     * @throws IllegalStateException when the socket is closed, before or while waiting
     * @throws NetlinkException      when reading fails other than by an overrun
     */
    public List<NflogPacket> receive() {
        return receive(-1);
    }

    /**
     * Like {@link #receive()}, waiting at most {@code timeout}; an empty list when nothing came in
     * time. {@link Duration#ZERO} takes only what is already queued.
     */
    public List<NflogPacket> receive(Duration timeout) {
        long nanos;
        try {
            nanos = Math.max(0, timeout.toNanos());
        } catch (ArithmeticException tooLong) { // beyond some 292 years: forever
            nanos = -1;
        }
        return receive(nanos);
    }

    private List<NflogPacket> receive(long timeoutNanos) {
        reading.lock();
        try {
            if (closed) {
                throw closedException();
            }
            if (!early.isEmpty()) {
                List<NflogPacket> out = List.copyOf(early);
                early.clear();
                return out;
            }
            long deadline = System.nanoTime() + timeoutNanos;
            while (true) {
                int waitMillis = timeoutNanos < 0 ? -1 : (int) Math.min(Integer.MAX_VALUE,
                        Math.max(0, (deadline - System.nanoTime() + 999_999) / 1_000_000));
                if (awaitReadable(waitMillis)) {
                    List<NflogPacket> out = new ArrayList<>();
                    long overrunsBefore = overruns;
                    read(out, -1);
                    if (!out.isEmpty()) {
                        return out;
                    }
                    if (overruns != overrunsBefore) {
                        continue; // the overrun is reported first; what was queued follows, even past the deadline
                    }
                }
                if (timeoutNanos >= 0 && deadline - System.nanoTime() <= 0) {
                    return List.of();
                }
            }
        } finally {
            reading.unlock();
        }
    }

    /** Waits for the socket to be readable (or carry an error); false on timeout. Throws once closed. */
    private boolean awaitReadable(int timeoutMillis) {
        while (true) {
            if (closed) {
                throw closedException();
            }
            pollFds.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            pollFds.set(ValueLayout.JAVA_SHORT, 14, (short) 0);
            var p = Libc.poll(pollFds, 2, timeoutMillis);
            if (p.failed()) {
                if (p.errno() == EINTR) {
                    continue;
                }
                throw new NetlinkException("wait for nflog group " + group, p.errno());
            }
            if (closed || pollFds.get(ValueLayout.JAVA_SHORT, 14) != 0) {
                throw closedException();
            }
            return p.value() > 0 && pollFds.get(ValueLayout.JAVA_SHORT, 6) != 0;
        }
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("nflog group " + group + ": socket closed");
    }

    /**
     * Reads one datagram without blocking: packets go to {@code out}; the answer to
     * {@code ackSeq} (when not -1) is left in {@code lastAck}; an overrun is counted.
     */
    private void read(List<NflogPacket> out, int ackSeq) {
        var got = Libc.recv(fd, buffer, BUFFER, MSG_DONTWAIT);
        if (got.failed()) {
            switch (got.errno()) {
                case EINTR, EAGAIN -> { }
                case ENOBUFS -> overruns++; // written under the reading lock only
                default -> throw new NetlinkException("receive from nflog group " + group, got.errno());
            }
            return;
        }
        ByteBuffer b = buffer.asSlice(0, Math.min(got.value(), BUFFER)).asByteBuffer().order(ByteOrder.nativeOrder());
        int at = 0;
        while (b.limit() - at >= NetlinkMessage.NLMSG_HDRLEN) {
            int len = b.getInt(at);
            int type = Short.toUnsignedInt(b.getShort(at + 4));
            int s = b.getInt(at + 8);
            if (len < NetlinkMessage.NLMSG_HDRLEN || at + len > b.limit()) {
                break;
            }
            ByteBuffer body = b.slice(at + NetlinkMessage.NLMSG_HDRLEN, len - NetlinkMessage.NLMSG_HDRLEN)
                    .order(ByteOrder.nativeOrder());
            if (type == NFULNL_MSG_PACKET) {
                NflogPacket p = NflogPacket.parse(body);
                if (p != null) {
                    out.add(p);
                } else {
                    skipped++;
                }
            } else if (type == NLMSG_ERROR && ackSeq != -1 && s == ackSeq && body.remaining() >= 4) {
                lastAck = -body.getInt(0);
            }
            // NLMSG_DONE ends a batch of several packets; anything else is not ours to read.
            at += (len + 3) & ~3;
        }
    }

    /** Sends one NFULNL_MSG_CONFIG for this group with NLM_F_ACK and waits for the kernel's answer. */
    private void config(String operation, Consumer<NetlinkMessage> attributes) {
        reading.lock();
        try {
            var m = new NetlinkMessage(NFULNL_MSG_CONFIG, F_REQUEST | F_ACK)
                    .u8(Netlink.AF_UNSPEC).u8(0).u8(group >>> 8).u8(group); // nfgenmsg: res_id = group, big-endian
            attributes.accept(m);
            int mySeq = ++seq;
            byte[] req = m.finish(mySeq);
            NetlinkSockets.send(fd, req, req.length, operation);
            lastAck = Integer.MIN_VALUE;
            long deadline = System.nanoTime() + ACK_TIMEOUT_MILLIS * 1_000_000L;
            while (lastAck == Integer.MIN_VALUE) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new IllegalStateException(operation + ": no answer from the kernel within " + ACK_TIMEOUT_MILLIS + " ms");
                }
                if (awaitReadable((int) left)) {
                    read(early, mySeq); // packets logged meanwhile are kept for the first receive()
                }
            }
            if (lastAck != 0) {
                throw new NetlinkException(operation, lastAck);
            }
        } finally {
            reading.unlock();
        }
    }

    /**
     * Closes the socket, which unbinds the group. A reader blocked in {@link #receive()} wakes at
     * once and throws IllegalStateException; close returns when it is out. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1L);
            Libc.write(wakeFd, one, 8); // wakes a reader in poll(2); it cannot fail short of a bad fd
        }
        reading.lock(); // the reader is out: no descriptor is closed (and reused) under its feet
        try {
            Libc.close(fd);
            Libc.close(wakeFd);
            arena.close();
        } finally {
            reading.unlock();
        }
    }
}
