package io.silk.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/** Builds one rtnetlink request: header, family header, then (nested) attributes. */
final class NetlinkMessage {

    static final int NLMSG_HDRLEN = 16;

    private final ByteBuffer buf = ByteBuffer.allocate(8192).order(ByteOrder.nativeOrder());
    private final Deque<Integer> nests = new ArrayDeque<>();

    NetlinkMessage(int type, int flags) {
        buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(0).putInt(0);
    }

    NetlinkMessage u8(int v) {
        buf.put((byte) v);
        return this;
    }

    NetlinkMessage u16(int v) {
        buf.putShort((short) v);
        return this;
    }

    NetlinkMessage u32(int v) {
        buf.putInt(v);
        return this;
    }

    /** struct ifinfomsg */
    NetlinkMessage ifinfo(int family, int index, int flags, int change) {
        return u8(family).u8(0).u16(0).u32(index).u32(flags).u32(change);
    }

    NetlinkMessage attr(int type, byte[] data) {
        int len = 4 + data.length;
        buf.putShort((short) len).putShort((short) type).put(data);
        pad();
        return this;
    }

    NetlinkMessage attrU32(int type, int v) {
        return attr(type, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array());
    }

    NetlinkMessage attrU8(int type, int v) {
        return attr(type, new byte[] {(byte) v});
    }

    NetlinkMessage attrBe16(int type, int v) {
        return attr(type, new byte[] {(byte) (v >>> 8), (byte) v});
    }

    NetlinkMessage attrString(int type, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return attr(type, z);
    }

    NetlinkMessage flag(int type) {
        return attr(type, new byte[0]);
    }

    NetlinkMessage begin(int type) {
        nests.push(buf.position());
        buf.putShort((short) 0).putShort((short) type);
        return this;
    }

    NetlinkMessage end() {
        int start = nests.pop();
        buf.putShort(start, (short) (buf.position() - start));
        return this;
    }

    private void pad() {
        while ((buf.position() & 3) != 0) {
            buf.put((byte) 0);
        }
    }

    byte[] finish(int seq) {
        buf.putInt(0, buf.position());
        buf.putInt(8, seq);
        byte[] out = new byte[buf.position()];
        buf.get(0, out);
        return out;
    }

    /** One received message: its type and flags, and its body after the netlink header. */
    record Received(int type, int flags, int seq, ByteBuffer body) {}

    /** Parses attributes from the buffer's position to its limit. */
    static Map<Integer, ByteBuffer> attributes(ByteBuffer b) {
        Map<Integer, ByteBuffer> out = new HashMap<>();
        ByteBuffer in = b.slice().order(ByteOrder.nativeOrder());
        while (in.remaining() >= 4) {
            int start = in.position();
            int len = Short.toUnsignedInt(in.getShort());
            int type = Short.toUnsignedInt(in.getShort()) & 0x3fff; // strip NLA_F_NESTED / NET_BYTEORDER
            if (len < 4 || start + len > in.limit()) {
                break;
            }
            out.put(type, in.slice(start + 4, len - 4).order(ByteOrder.nativeOrder()));
            in.position(Math.min(in.limit(), start + ((len + 3) & ~3)));
        }
        return out;
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    static String string(ByteBuffer b) {
        byte[] raw = bytes(b);
        int n = 0;
        while (n < raw.length && raw[n] != 0) {
            n++;
        }
        return new String(raw, 0, n, StandardCharsets.US_ASCII);
    }
}
