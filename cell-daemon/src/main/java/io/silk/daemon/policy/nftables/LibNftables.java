package io.silk.daemon.policy.nftables;

import io.silk.netlink.Netlink;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * nft's language through Debian's {@code libnftables.so.1} (the library behind the {@code nft}
 * command), called in process through the FFM API: the table's chains and sets ({@link KernelNftables}
 * writes elements through netlink). In process because a change must reach the kernel in a
 * few milliseconds: spawning {@code nft} costs more than that (and closing its netlink socket
 * alone takes ~15 ms), while a call here costs what the kernel's transaction costs.
 *
 * <p>One nft context serves one network namespace, the one its thread is in; every call runs on
 * that one thread (libnftables contexts are not thread-safe).
 */
public final class LibNftables implements AutoCloseable {

    private static final int OUTPUT_JSON = 1 << 4;
    private static final int MAX_ERROR_LINES = 4;
    private static final int MAX_LINE = 240;

    private static final Linker LINKER = Linker.nativeLinker();
    private static volatile Handles handles;

    private record Handles(MethodHandle ctxNew, MethodHandle ctxFree, MethodHandle bufferOutput, MethodHandle bufferError,
            MethodHandle outputBuffer, MethodHandle errorBuffer, MethodHandle runCmd, MethodHandle setOutputFlags) {

        static Handles load() {
            SymbolLookup lib;
            try {
                lib = SymbolLookup.libraryLookup("libnftables.so.1", Arena.global());
            } catch (IllegalArgumentException e) {
                throw new NftablesException("load libnftables.so.1 (Debian package libnftables1, installed with nftables): "
                        + e.getMessage(), e);
            }
            ValueLayout ptr = ValueLayout.ADDRESS;
            ValueLayout i32 = ValueLayout.JAVA_INT;
            return new Handles(
                    h(lib, "nft_ctx_new", FunctionDescriptor.of(ptr, i32)),
                    h(lib, "nft_ctx_free", FunctionDescriptor.ofVoid(ptr)),
                    h(lib, "nft_ctx_buffer_output", FunctionDescriptor.of(i32, ptr)),
                    h(lib, "nft_ctx_buffer_error", FunctionDescriptor.of(i32, ptr)),
                    h(lib, "nft_ctx_get_output_buffer", FunctionDescriptor.of(ptr, ptr)),
                    h(lib, "nft_ctx_get_error_buffer", FunctionDescriptor.of(ptr, ptr)),
                    h(lib, "nft_run_cmd_from_buffer", FunctionDescriptor.of(i32, ptr, ptr)),
                    h(lib, "nft_ctx_output_set_flags", FunctionDescriptor.ofVoid(ptr, i32)));
        }

        private static MethodHandle h(SymbolLookup lib, String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(lib.find(name).orElseThrow(
                    () -> new NftablesException("libnftables.so.1 has no " + name)), fd);
        }
    }

    private final ExecutorService thread;
    private final String where;
    private MemorySegment ctx; // used on `thread` only

    private LibNftables(Path netns) {
        this.where = netns == null ? "this network namespace" : netns.toString();
        this.thread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("nftables" + (netns == null ? "" : "-" + netns.getFileName())).unstarted(r));
        call(() -> {
            if (netns != null) {
                Netlink.enter(netns);
            }
            Handles h = handles();
            MemorySegment c = (MemorySegment) h.ctxNew().invokeExact(0);
            if (c.equals(MemorySegment.NULL)) {
                throw new NftablesException("nft_ctx_new failed in " + where);
            }
            int out = (int) h.bufferOutput().invokeExact(c);
            int err = (int) h.bufferError().invokeExact(c);
            if (out != 0 || err != 0) {
                throw new NftablesException("buffer nft output in " + where);
            }
            ctx = c;
            return null;
        });
    }

    /** nftables in the caller's network namespace (the daemon runs in the cell's). */
    public static LibNftables open() {
        return new LibNftables(null);
    }

    /** nftables in the network namespace at {@code netns} (tests and benchmarks that run outside the cell). */
    public static LibNftables openIn(Path netns) {
        return new LibNftables(netns);
    }

    private static Handles handles() {
        Handles h = handles;
        if (h == null) {
            synchronized (LibNftables.class) {
                h = handles;
                if (h == null) {
                    h = Handles.load();
                    handles = h;
                }
            }
        }
        return h;
    }

    /** Runs the script as one transaction; throws {@link NftablesException} with nft's message. */
    public void run(String script) {
        call(() -> {
            execute(script, 0);
            return null;
        });
    }

    /** Runs a read-only command and returns nft's JSON output. */
    public String json(String command) {
        return call(() -> execute(command, OUTPUT_JSON));
    }

    private String execute(String commands, int outputFlags) throws Throwable {
        Handles h = handles();
        h.setOutputFlags().invokeExact(ctx, outputFlags);
        int rc;
        try (Arena arena = Arena.ofConfined()) {
            rc = (int) h.runCmd().invokeExact(ctx, arena.allocateFrom(commands));
        }
        String out = string((MemorySegment) h.outputBuffer().invokeExact(ctx));
        String err = string((MemorySegment) h.errorBuffer().invokeExact(ctx));
        if (rc != 0) {
            throw new NftablesException("nftables refused the transaction in " + where + ": " + shortened(err));
        }
        return out;
    }

    private static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "" : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** nft's error with the offending line; scripts can be megabytes, so a few short lines of it. */
    static String shortened(String error) {
        return error.lines().filter(l -> !l.isBlank()).limit(MAX_ERROR_LINES)
                .map(l -> l.length() > MAX_LINE ? l.substring(0, MAX_LINE) + "…" : l)
                .collect(Collectors.joining(" | "));
    }

    /** A call into the library: method handles throw Throwable. */
    private interface NativeCall<T> {
        T run() throws Throwable;
    }

    private <T> T call(NativeCall<T> task) {
        Callable<T> wrapped = () -> {
            try {
                return task.run();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new NftablesException("nftables call in " + where + " failed: " + t, t);
            }
        };
        Future<T> f;
        try {
            f = thread.submit(wrapped);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new NftablesException("nftables in " + where + " is closed", e);
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NftablesException("interrupted waiting for nftables in " + where, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new NftablesException("nftables call in " + where + " failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void close() {
        try {
            call(() -> {
                if (ctx != null) {
                    handles().ctxFree().invokeExact(ctx);
                    ctx = null;
                }
                return null;
            });
        } finally {
            thread.shutdown();
        }
    }
}
