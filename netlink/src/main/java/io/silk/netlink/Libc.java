package io.silk.netlink;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** The few libc calls netlink needs, with errno captured. */
final class Libc {

    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_ROUTE = 0;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int CLONE_NEWNET = 0x40000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPTION = Linker.Option.captureCallState("errno");

    private static final MethodHandle SOCKET = handle("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle BIND = handle("bind",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SEND = handle("send",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle RECV = handle("recv",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = handle("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle OPEN = handle("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SETNS = handle("setns",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private Libc() {}

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd, ERRNO_OPTION);
    }

    /** The result of a call and the errno it left. */
    record Result(long value, int errno) {
        boolean failed() {
            return value < 0;
        }
    }

    private static Result call(MethodHandle h, Object... args) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            Object[] full = new Object[args.length + 1];
            full[0] = state;
            System.arraycopy(args, 0, full, 1, args.length);
            Object r = h.invokeWithArguments(full);
            long value = r instanceof Integer i ? i : (Long) r;
            return new Result(value, (int) ERRNO.get(state, 0L));
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed", t);
        }
    }

    static Result socket(int domain, int type, int protocol) {
        return call(SOCKET, domain, type, protocol);
    }

    static Result bind(int fd, MemorySegment addr, int len) {
        return call(BIND, fd, addr, len);
    }

    static Result send(int fd, MemorySegment buf, long len) {
        return call(SEND, fd, buf, len, 0);
    }

    static Result recv(int fd, MemorySegment buf, long len) {
        return call(RECV, fd, buf, len, 0);
    }

    static Result close(int fd) {
        return call(CLOSE, fd);
    }

    static Result open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return call(OPEN, arena.allocateFrom(path), flags);
        }
    }

    static Result setns(int fd, int nstype) {
        return call(SETNS, fd, nstype);
    }

    // ---- socket options and non-blocking receive (NfTablesSocket) ----------------------------

    private static final MethodHandle SETSOCKOPT = handle("setsockopt",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    static Result setsockopt(int fd, int level, int name, MemorySegment value, int len) {
        return call(SETSOCKOPT, fd, level, name, value, len);
    }

    /** setsockopt with an int value. */
    static Result setsockoptInt(int fd, int level, int name, int value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            return call(SETSOCKOPT, fd, level, name, v, 4);
        }
    }

    /** recv with flags (e.g. MSG_DONTWAIT = 0x40). */
    static Result recv(int fd, MemorySegment buf, long len, int flags) {
        return call(RECV, fd, buf, len, flags);
    }

    // ---- waiting on descriptors (NflogSocket) ------------------------------------------------

    static final int POLLIN = 0x1;
    static final int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;

    private static final MethodHandle POLL = handle("poll",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle EVENTFD = handle("eventfd",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle WRITE = handle("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    /** poll(2) on an array of struct pollfd {int fd; short events; short revents;}; timeout in ms, -1 forever. */
    static Result poll(MemorySegment fds, int count, int timeoutMillis) {
        return call(POLL, fds, (long) count, timeoutMillis);
    }

    static Result eventfd(int initial, int flags) {
        return call(EVENTFD, initial, flags);
    }

    static Result write(int fd, MemorySegment buf, long len) {
        return call(WRITE, fd, buf, len);
    }
}
