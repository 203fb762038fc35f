package io.silk.netlink;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * An nf_tables netlink socket that writes set elements only, straight to the kernel, in one atomic
 * transaction per {@link Batch#commit()}. Tables, sets, maps and chains are made with nft's language;
 * this class adds and removes their elements, which for 100,000 elements is far faster than
 * libnftables' parser.
 *
 * <p>Keys and data are raw bytes, laid out by the caller exactly as the kernel stores them (what
 * {@code nft --debug=netlink add element ...} prints). In a concatenation ({@code a . b . c}) each
 * field is padded with zeros to a multiple of 4 bytes:
 * <ul>
 *   <li>{@code ipv4_addr}: 4 bytes, network order ({@code 10.255.1.3} = {@code 0a ff 01 03});
 *   <li>{@code mark}: 4 bytes, <b>host order</b> (little-endian on x86/arm64: {@code 0x5} =
 *       {@code 05 00 00 00}) — in a map's data and in the key of a set without {@code flags interval};
 *       but in the key of a set <b>with {@code flags interval}</b> (concatenated ranges) nft stores
 *       host-order fields in <b>network order</b> ({@code 0x1} = {@code 00 00 00 01}) and its rules
 *       byte-swap {@code meta mark} before the lookup, so such keys must be big-endian;
 *   <li>{@code inet_proto}: 1 byte then 3 zeros ({@code tcp} = {@code 06 00 00 00});
 *   <li>{@code inet_service}: 2 bytes network order then 2 zeros ({@code 8080} = {@code 1f 90 00 00});
 *   <li>{@code icmp_type}, {@code icmp_code}: 1 byte then 3 zeros each ({@code echo-request} =
 *       {@code 08 00 00 00}).
 * </ul>
 * A single value (not a concatenation) is not padded: an {@code ipv4_addr} key is 4 bytes, an
 * {@code inet_service} key 2. In a set with {@code flags interval} and a concatenated type, a range
 * is one element: {@code key} its lower bound and {@code keyEnd} its upper bound (inclusive; a
 * prefix such as 10.0.0.0/8 is 10.0.0.0 to 10.255.255.255); a single value has keyEnd equal to key
 * or null. (Interval sets of a single non-concatenated type use start/end-flag element pairs
 * instead; this class does not build those.)
 *
 * <p>Adds carry NLM_F_CREATE without NLM_F_EXCL: adding an element that already exists with the same
 * data is not an error (with other data in a map it is: EBUSY); adding a range that overlaps a
 * different existing one is (EEXIST), as is deleting a missing element (ENOENT). Any error aborts
 * the whole transaction. A set with {@code counter} (a set expression) attaches a fresh counter to
 * every element added here, as nft does.
 *
 * <p>One socket serves one network namespace, the one it was opened in. Calls are synchronised; a
 * {@link Batch} itself is not thread-safe.
 */
public final class NfTablesSocket implements AutoCloseable {

    public static final int NFPROTO_INET = 1, NFPROTO_IPV4 = 2, NFPROTO_ARP = 3, NFPROTO_NETDEV = 5,
            NFPROTO_BRIDGE = 7, NFPROTO_IPV6 = 10;

    static final int NETLINK_NETFILTER = 12;
    static final int NFNL_SUBSYS_NFTABLES = 10;
    static final int NFNL_MSG_BATCH_BEGIN = 0x10, NFNL_MSG_BATCH_END = 0x11;
    static final int NFT_MSG_NEWSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 12;
    static final int NFT_MSG_DELSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 14;
    static final int NFTA_SET_ELEM_LIST_TABLE = 1, NFTA_SET_ELEM_LIST_SET = 2, NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    static final int NFTA_LIST_ELEM = 1;
    static final int NFTA_SET_ELEM_KEY = 1, NFTA_SET_ELEM_DATA = 2, NFTA_SET_ELEM_KEY_END = 10; // 3 is NFTA_SET_ELEM_FLAGS
    static final int NFTA_DATA_VALUE = 1;
    static final int NLA_F_NESTED = 0x8000;
    static final int NLMSG_ERROR = 2;
    static final int F_REQUEST = 1, F_ACK = 4, F_CREATE = 0x400;
    static final int NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;
    static final int NLMSGERR_ATTR_MSG = 1, NLMSGERR_ATTR_OFFS = 2;

    static final int SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_RCVTIMEO = 20, SO_SNDBUFFORCE = 32,
            SO_RCVBUFFORCE = 33;
    static final int SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11;
    static final int MSG_DONTWAIT = 0x40;
    static final int EINTR = 4, EAGAIN = 11, EPERM = 1, ENOBUFS = 105;

    /** NFT_DATA_VALUE_MAXLEN: the longest key or data the kernel takes. */
    static final int MAX_VALUE = 64;
    /** The elements of one message are one nested attribute, whose length is a u16. */
    static final int MAX_ELEMENTS_BYTES = 60 * 1024;
    /** How long to wait for the kernel's answer to a batch (it answers while we send, in practice). */
    static final int ANSWER_TIMEOUT_SECONDS = 60;

    private static final int RECV_BUFFER = 256 * 1024;
    private static final HexFormat HEX = HexFormat.of();

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment receive = arena.allocate(RECV_BUFFER);
    private int seq = (int) (System.nanoTime() & 0x3fffffff);
    private int sendBuffer;
    private int receiveBuffer;
    private boolean closed;

    private NfTablesSocket(int fd) {
        this.fd = fd;
    }

    /** A socket in the caller's network namespace. */
    public static NfTablesSocket open() {
        return new NfTablesSocket(openSocket());
    }

    /**
     * A socket in the network namespace at {@code netns}, made on a throwaway thread that joins the
     * namespace, so no thread of the caller ever changes namespace.
     */
    public static NfTablesSocket openIn(Path netns) {
        return new NfTablesSocket(NetlinkSockets.inNamespace(netns, "nf_tables netlink socket", NfTablesSocket::openSocket));
    }

    private static int openSocket() {
        int fd = NetlinkSockets.open(NETLINK_NETFILTER, "nf_tables netlink socket");
        try (Arena a = Arena.ofConfined()) {
            // Errors echo only the failing message's header (not up to 64 KiB of elements) and
            // carry the offset of the failing element. Both exist since Linux 4.12; best effort.
            Libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
            Libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
            MemorySegment timeout = a.allocate(16); // struct timeval {long tv_sec; long tv_usec}
            timeout.set(ValueLayout.JAVA_LONG, 0, ANSWER_TIMEOUT_SECONDS);
            timeout.set(ValueLayout.JAVA_LONG, 8, 0);
            var t = Libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
            if (t.failed()) {
                Libc.close(fd);
                throw new NetlinkException("set the receive timeout of the nf_tables netlink socket", t.errno());
            }
        }
        return fd;
    }

    /** A new, empty batch of element operations on tables of family inet. */
    public Batch batch() {
        return new Batch(NFPROTO_INET);
    }

    /** A new, empty batch of element operations on tables of the given NFPROTO_* family. */
    public Batch batch(int family) {
        return new Batch(family);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
            arena.close();
        }
    }

    // ---- the batch --------------------------------------------------------------------------

    private enum Kind { ADD, DELETE, FLUSH }

    private record Op(Kind kind, String table, String set, byte[] key, byte[] keyEnd, byte[] data) {}

    /**
     * Element operations to apply in order, in one transaction. Consecutive operations of the same
     * kind on the same set travel in one message. A batch can be committed more than once (each
     * commit is its own transaction) and {@link #clear() cleared} for reuse.
     */
    public final class Batch {

        private final int family;
        private final List<Op> ops = new ArrayList<>();

        private Batch(int family) {
            this.family = family;
        }

        public int family() {
            return family;
        }

        /** Removes every element of the set (its state when this operation is reached in the batch). */
        public Batch flush(String table, String set) {
            ops.add(new Op(Kind.FLUSH, name(table, "table"), name(set, "set"), null, null, null));
            return this;
        }

        /** Removes one element; {@code keyEnd} only for a range in a set with flags interval. */
        public Batch delete(String table, String set, byte[] key, byte[] keyEnd) {
            ops.add(new Op(Kind.DELETE, name(table, "table"), name(set, "set"),
                    value(key, "key", false), value(keyEnd, "key end", true), null));
            return this;
        }

        /**
         * Adds one element (nothing happens when it exists already); {@code keyEnd} only for a range
         * in a set with flags interval, {@code data} only for a map (its value, e.g. a mark).
         */
        public Batch add(String table, String set, byte[] key, byte[] keyEnd, byte[] data) {
            ops.add(new Op(Kind.ADD, name(table, "table"), name(set, "set"),
                    value(key, "key", false), value(keyEnd, "key end", true), value(data, "data", true)));
            return this;
        }

        /** The number of operations (a flush counts one). */
        public int size() {
            return ops.size();
        }

        public Batch clear() {
            ops.clear();
            return this;
        }

        /**
         * Applies every operation, in order, in one transaction: all or nothing. Throws a
         * {@link NetlinkException} naming the failing operation when the kernel refuses any; the
         * kernel then applied none. An empty batch does nothing.
         */
        public void commit() {
            if (!ops.isEmpty()) {
                transact(this);
            }
        }

        private String familyName() {
            return switch (family) {
                case NFPROTO_INET -> "inet";
                case NFPROTO_IPV4 -> "ip";
                case NFPROTO_IPV6 -> "ip6";
                case NFPROTO_ARP -> "arp";
                case NFPROTO_BRIDGE -> "bridge";
                case NFPROTO_NETDEV -> "netdev";
                default -> "family " + family;
            };
        }
    }

    private static String name(String s, String what) {
        Objects.requireNonNull(s, what);
        if (s.isEmpty() || s.length() > 255 || s.indexOf(0) >= 0) {
            throw new IllegalArgumentException("bad nftables " + what + " name: " + s);
        }
        return s;
    }

    private static byte[] value(byte[] v, String what, boolean optional) {
        if (v == null) {
            if (optional) {
                return null;
            }
            throw new NullPointerException(what);
        }
        if (v.length == 0 || v.length > MAX_VALUE) {
            throw new IllegalArgumentException("nftables element " + what + " of " + v.length + " bytes (1 to " + MAX_VALUE + ")");
        }
        return v.clone();
    }

    // ---- encoding ---------------------------------------------------------------------------

    /** What one message of the batch was, to name a failure. */
    private record Sent(
            int seq, int index, String what, int firstOp, int firstInGroup, int groupSize, int[] elementStarts, int length) {}

    /** The bytes of a batch and what each message in it was. */
    private record Encoded(byte[] bytes, int length, int firstSeq, List<Sent> messages) {}

    private Encoded encode(Batch batch, int firstSeq) {
        List<Op> ops = batch.ops;
        Writer w = new Writer(Math.max(4096, ops.size() * 40 + 4096));
        List<Sent> sent = new ArrayList<>();
        int s = firstSeq;
        // NFNL_MSG_BATCH_BEGIN: res_id says which subsystem the batch is for (network order).
        w.header(NFNL_MSG_BATCH_BEGIN, F_REQUEST, s++, 0, NFNL_SUBSYS_NFTABLES);
        w.finishMessage(0);
        int i = 0;
        while (i < ops.size()) {
            Op first = ops.get(i);
            int groupEnd = i + 1;
            if (first.kind() != Kind.FLUSH) {
                while (groupEnd < ops.size() && sameGroup(first, ops.get(groupEnd))) {
                    groupEnd++;
                }
            }
            int groupSize = groupEnd - i;
            String what = describe(batch, first, groupSize);
            int groupStart = i;
            do {
                int start = w.position();
                int type = first.kind() == Kind.ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM;
                int flags = F_REQUEST | F_ACK | (first.kind() == Kind.ADD ? F_CREATE : 0);
                w.header(type, flags, s, batch.family, 0);
                w.string(NFTA_SET_ELEM_LIST_TABLE, first.table());
                w.string(NFTA_SET_ELEM_LIST_SET, first.set());
                int[] starts;
                int firstOfMessage = i;
                if (first.kind() == Kind.FLUSH) {
                    starts = new int[0]; // no element list: the kernel flushes the set
                    i++;
                } else {
                    int list = w.begin(NFTA_SET_ELEM_LIST_ELEMENTS);
                    int[] offs = new int[64];
                    int n = 0;
                    while (i < groupEnd && (n == 0 || w.position() - list + elementSize(ops.get(i)) <= MAX_ELEMENTS_BYTES)) {
                        if (n == offs.length) {
                            offs = Arrays.copyOf(offs, n * 2);
                        }
                        offs[n++] = w.position() - start;
                        element(w, ops.get(i));
                        i++;
                    }
                    w.end(list);
                    starts = Arrays.copyOf(offs, n);
                }
                int end = w.finishMessage(start);
                sent.add(new Sent(s, sent.size() + 1, what, firstOfMessage, firstOfMessage - groupStart, groupSize, starts, end - start));
                s++;
            } while (i < groupEnd);
        }
        int start = w.position();
        w.header(NFNL_MSG_BATCH_END, F_REQUEST, s, 0, NFNL_SUBSYS_NFTABLES);
        w.finishMessage(start);
        return new Encoded(w.bytes(), w.position(), firstSeq, sent);
    }

    private static boolean sameGroup(Op a, Op b) {
        return a.kind() == b.kind() && a.table().equals(b.table()) && a.set().equals(b.set());
    }

    private static String describe(Batch batch, Op first, int n) {
        String where = batch.familyName() + " " + first.table() + " " + first.set();
        return switch (first.kind()) {
            case FLUSH -> "flush " + where;
            case ADD -> "add " + n + (n == 1 ? " element to " : " elements to ") + where;
            case DELETE -> "delete " + n + (n == 1 ? " element from " : " elements from ") + where;
        };
    }

    private static int valueSize(byte[] v) {
        return v == null ? 0 : 4 + 4 + align(v.length); // nest { NFTA_DATA_VALUE }
    }

    private static int elementSize(Op op) {
        return 4 + valueSize(op.key()) + valueSize(op.keyEnd()) + (op.kind() == Kind.ADD ? valueSize(op.data()) : 0);
    }

    private static void element(Writer w, Op op) {
        int e = w.begin(NFTA_LIST_ELEM);
        w.value(NFTA_SET_ELEM_KEY, op.key());
        if (op.keyEnd() != null) {
            w.value(NFTA_SET_ELEM_KEY_END, op.keyEnd());
        }
        if (op.kind() == Kind.ADD && op.data() != null) {
            w.value(NFTA_SET_ELEM_DATA, op.data());
        }
        w.end(e);
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    /** A growable buffer of netlink messages in host order. */
    private static final class Writer {
        private ByteBuffer buf;

        Writer(int capacity) {
            buf = ByteBuffer.allocate(capacity).order(ByteOrder.nativeOrder());
        }

        private void room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n))
                        .order(ByteOrder.nativeOrder());
                bigger.put(buf.array(), 0, buf.position());
                buf = bigger;
            }
        }

        int position() {
            return buf.position();
        }

        /** nlmsghdr (length filled in by finishMessage) and nfgenmsg. */
        void header(int type, int flags, int seq, int family, int resId) {
            room(20);
            buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
            buf.put((byte) family).put((byte) 0).put((byte) (resId >>> 8)).put((byte) resId);
        }

        int finishMessage(int start) {
            buf.putInt(start, buf.position() - start);
            return buf.position();
        }

        void string(int type, String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            room(4 + align(b.length + 1));
            buf.putShort((short) (4 + b.length + 1)).putShort((short) type).put(b).put((byte) 0);
            pad();
        }

        /** A nested attribute holding NFTA_DATA_VALUE. */
        void value(int type, byte[] v) {
            room(8 + align(v.length));
            buf.putShort((short) (8 + align(v.length))).putShort((short) (type | NLA_F_NESTED));
            buf.putShort((short) (4 + v.length)).putShort((short) NFTA_DATA_VALUE).put(v);
            pad();
        }

        int begin(int type) {
            room(4);
            int at = buf.position();
            buf.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
            return at;
        }

        void end(int at) {
            buf.putShort(at, (short) (buf.position() - at));
        }

        private void pad() {
            while ((buf.position() & 3) != 0) {
                buf.put((byte) 0);
            }
        }

        byte[] bytes() {
            return buf.array();
        }
    }

    // ---- the transaction --------------------------------------------------------------------

    private synchronized void transact(Batch batch) {
        if (closed) {
            throw new IllegalStateException("nf_tables netlink socket closed");
        }
        int firstSeq = seq + 1;
        Encoded enc = encode(batch, firstSeq);
        seq = firstSeq + enc.messages().size() + 1; // begin, messages, end
        if (seq > 0x3fffffff) {
            seq = 1;
        }
        int messages = enc.messages().size();
        String summary = "nftables batch of " + batch.size() + " operations (" + messages + " messages, "
                + enc.length() + " bytes)";

        // The kernel takes a batch from one skb: the whole of it must fit in one send.
        ensureBuffer(true, enc.length() + 4096, summary);
        // Every message is answered at once, each answer its own skb (~1 KiB of buffer each).
        ensureBuffer(false, Math.max(256 * 1024, messages * 2048 + 64 * 1024), summary);

        NetlinkSockets.send(fd, enc.bytes(), enc.length(), summary);
        awaitAnswers(batch, enc, summary);
    }

    private void ensureBuffer(boolean send, int bytes, String summary) {
        if ((send ? sendBuffer : receiveBuffer) >= bytes) {
            return;
        }
        var r = Libc.setsockoptInt(fd, SOL_SOCKET, send ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, bytes);
        if (r.failed()) {
            // Without CAP_NET_ADMIN: capped by net.core.wmem_max / rmem_max.
            r = Libc.setsockoptInt(fd, SOL_SOCKET, send ? SO_SNDBUF : SO_RCVBUF, bytes);
            if (r.failed()) {
                throw new NetlinkException(summary + ": set " + (send ? "send" : "receive") + " buffer to " + bytes, r.errno());
            }
            return; // not forced: maybe smaller than asked, so ask again next time
        }
        if (send) {
            sendBuffer = bytes;
        } else {
            receiveBuffer = bytes;
        }
    }

    /** One refusal: which message, errno, and the offset of the faulty attribute if the kernel said. */
    private record Refusal(int seq, int errno, int offset, String kernelMessage) {}

    private void awaitAnswers(Batch batch, Encoded enc, String summary) {
        int messages = enc.messages().size();
        int firstSeq = enc.firstSeq();
        int lastSeq = firstSeq + messages + 1;
        boolean[] answered = new boolean[messages];
        int pending = messages;
        List<Refusal> refusals = new ArrayList<>();
        while (pending > 0 || !refusals.isEmpty()) {
            // Once a refusal came, every other answer is already queued (the kernel answers the
            // whole batch at once): read what is there without waiting.
            var got = Libc.recv(fd, receive, RECV_BUFFER, refusals.isEmpty() ? 0 : MSG_DONTWAIT);
            if (got.failed()) {
                if (got.errno() == EINTR) {
                    continue;
                }
                if (got.errno() == EAGAIN && !refusals.isEmpty()) {
                    break;
                }
                if (got.errno() == EAGAIN) {
                    throw new NetlinkException(summary + ": no answer from the kernel within " + ANSWER_TIMEOUT_SECONDS
                            + " s (" + (messages - pending) + " of " + messages + " messages answered); outcome unknown", got.errno());
                }
                if (got.errno() == ENOBUFS) {
                    throw new NetlinkException(summary + ": answers lost (receive buffer overrun); outcome unknown", got.errno());
                }
                throw new NetlinkException(summary + ": receive", got.errno());
            }
            ByteBuffer b = receive.asSlice(0, got.value()).asByteBuffer().order(ByteOrder.nativeOrder());
            int at = 0;
            while (b.limit() - at >= 16) {
                int len = b.getInt(at);
                int type = Short.toUnsignedInt(b.getShort(at + 4));
                int flags = Short.toUnsignedInt(b.getShort(at + 6));
                int s = b.getInt(at + 8);
                if (len < 16 || at + len > b.limit()) {
                    break;
                }
                if (type == NLMSG_ERROR && s >= firstSeq && s <= lastSeq && len >= 16 + 20) {
                    int error = b.getInt(at + 16);
                    int index = s - firstSeq - 1; // the begin message is -1
                    if (index >= 0 && index < messages && !answered[index]) {
                        answered[index] = true;
                        pending--;
                    }
                    if (error != 0) {
                        refusals.add(refusal(b, at, len, flags, s, -error));
                    }
                }
                at += align(len);
            }
        }
        if (!refusals.isEmpty()) {
            throw failure(batch, enc, refusals);
        }
    }

    private static Refusal refusal(ByteBuffer b, int at, int len, int flags, int seq, int errno) {
        int offset = -1;
        String text = null;
        if ((flags & NLM_F_ACK_TLVS) != 0) {
            int origLen = b.getInt(at + 20);
            int tlv = at + 16 + 4 + ((flags & NLM_F_CAPPED) != 0 ? 16 : align(origLen));
            while (tlv + 4 <= at + len) {
                int l = Short.toUnsignedInt(b.getShort(tlv));
                int t = Short.toUnsignedInt(b.getShort(tlv + 2)) & 0x3fff;
                if (l < 4 || tlv + l > at + len) {
                    break;
                }
                if (t == NLMSGERR_ATTR_OFFS && l >= 8) {
                    offset = b.getInt(tlv + 4);
                } else if (t == NLMSGERR_ATTR_MSG && l > 4) {
                    byte[] raw = new byte[l - 4];
                    b.get(tlv + 4, raw);
                    int n = 0;
                    while (n < raw.length && raw[n] != 0) {
                        n++;
                    }
                    text = new String(raw, 0, n, StandardCharsets.UTF_8);
                }
                tlv += align(l);
            }
        }
        return new Refusal(seq, errno, offset, text);
    }

    private static NetlinkException failure(Batch batch, Encoded enc, List<Refusal> refusals) {
        Refusal r = refusals.getFirst();
        int index = r.seq() - enc.firstSeq() - 1;
        int messages = enc.messages().size();
        StringBuilder m = new StringBuilder("nftables batch aborted, nothing applied: ");
        if (index < 0 || index >= messages) {
            // The batch as a whole: no permission, out of memory, or the commit itself failed.
            m.append(batch.size()).append(" operations in ").append(messages).append(" messages");
        } else {
            Sent sent = enc.messages().get(index);
            m.append(sent.what());
            int e = element(sent, r.offset());
            if (e >= 0) {
                int op = sent.firstOp() + e;
                Op o = batch.ops.get(op);
                m.append(", element ").append(sent.firstInGroup() + e + 1);
                if (sent.groupSize() > 1) {
                    m.append(" of ").append(sent.groupSize());
                }
                m.append(" (element ").append(e + 1).append(" of message ").append(sent.index()).append(" of ").append(messages)
                        .append(", operation ").append(op + 1).append(" of ").append(batch.size()).append("), key ")
                        .append(hex(o.key()));
                if (o.keyEnd() != null) {
                    m.append(" - ").append(hex(o.keyEnd()));
                }
                if (o.kind() == Kind.ADD && o.data() != null) {
                    m.append(" : ").append(hex(o.data()));
                }
            } else {
                m.append(" (message ").append(sent.index()).append(" of ").append(messages).append(")");
            }
        }
        if (r.kernelMessage() != null && !r.kernelMessage().isEmpty()) {
            m.append(", kernel says \"").append(r.kernelMessage()).append('"');
        }
        if (refusals.size() > 1) {
            m.append(" (and ").append(refusals.size() - 1).append(" more refused)");
        }
        return new NetlinkException(m.toString(), r.errno());
    }

    /** Which element of the message holds the byte at offset, or -1. */
    private static int element(Sent sent, int offset) {
        int[] starts = sent.elementStarts();
        if (offset < 0 || starts.length == 0 || offset < starts[0]) {
            return -1;
        }
        int found = Arrays.binarySearch(starts, offset);
        int e = found >= 0 ? found : -found - 2;
        int end = e + 1 < starts.length ? starts[e + 1] : sent.length();
        return offset < end ? e : -1;
    }

    /** Bytes as hex, a space between 4-byte words (one word per field of a concatenation). */
    private static String hex(byte[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i += 4) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(HEX.formatHex(v, i, Math.min(v.length, i + 4)));
        }
        return sb.toString();
    }
}
