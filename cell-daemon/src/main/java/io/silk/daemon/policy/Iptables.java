package io.silk.daemon.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The thin adapter to iptables: whole tables of silk chains replaced atomically with
 * iptables-restore --noflush (other chains untouched), and the jumps into them from the built-in
 * chains made once.
 */
public final class Iptables {

    /** A jump from a built-in chain into one of silk's, in a table. */
    public record Hook(String table, String builtin, String chain) {}

    public static final List<Hook> HOOKS = List.of(
            new Hook("mangle", "PREROUTING", PolicyRules.MARK_CHAIN),
            new Hook("filter", "FORWARD", PolicyRules.FORWARD_CHAIN),
            new Hook("nat", "POSTROUTING", PolicyRules.NAT_CHAIN));

    private final List<String> prefix;

    /** In the daemon's own network namespace. */
    public Iptables() {
        this(List.of());
    }

    /** With a command prefix, e.g. "ip netns exec CELL" in tests that run outside the cell. */
    public Iptables(List<String> prefix) {
        this.prefix = List.copyOf(prefix);
    }

    /** Replaces the silk chains with the rules, atomically per table. */
    public void restore(String rules) {
        run(List.of("iptables-restore", "--noflush", "--wait"), rules, "apply policy rules");
    }

    /** Flushes and deletes chains no longer referenced (containers that left). */
    public void drop(java.util.Map<String, List<String>> chainsByTable) {
        chainsByTable.forEach((table, chains) -> {
            for (String c : chains) {
                exec(List.of("iptables", "--wait", "-t", table, "-F", c), null);
                exec(List.of("iptables", "--wait", "-t", table, "-X", c), null);
            }
        });
    }

    /** Makes sure each built-in chain jumps into silk's chain first (chains are created if missing). */
    public void ensureHooks() {
        for (Hook h : HOOKS) {
            StringBuilder declare = new StringBuilder("*").append(h.table()).append('\n');
            if (!exists(h.table(), h.chain())) {
                declare.append(':').append(h.chain()).append(" - [0:0]\n");
            }
            declare.append("COMMIT\n");
            restore(declare.toString());
            List<String> check = List.of("iptables", "--wait", "-t", h.table(), "-C", h.builtin(), "-j", h.chain());
            if (exec(check, null).exit() != 0) {
                run(List.of("iptables", "--wait", "-t", h.table(), "-I", h.builtin(), "1", "-j", h.chain()), null,
                        "hook " + h.chain() + " into " + h.table() + "/" + h.builtin());
            }
        }
    }

    /**
     * Removes the hooks and every silk chain (names starting "silk-") in the tables silk uses;
     * returns how many chains went. Other chains and rules are left alone.
     */
    public int removeAll() {
        for (Hook h : HOOKS) {
            List<String> check = List.of("iptables", "--wait", "-t", h.table(), "-C", h.builtin(), "-j", h.chain());
            while (exec(check, null).exit() == 0) {
                run(List.of("iptables", "--wait", "-t", h.table(), "-D", h.builtin(), "-j", h.chain()), null,
                        "unhook " + h.chain() + " from " + h.table() + "/" + h.builtin());
            }
        }
        int removed = 0;
        for (String table : HOOKS.stream().map(Hook::table).distinct().toList()) {
            List<String> chains = save(table).lines().filter(l -> l.startsWith(":silk-"))
                    .map(l -> l.substring(1, l.indexOf(' '))).toList();
            // Flush all first: silk chains jump to each other, and a referenced chain cannot be deleted.
            for (String c : chains) {
                run(List.of("iptables", "--wait", "-t", table, "-F", c), null, "flush " + table + "/" + c);
            }
            for (String c : chains) {
                run(List.of("iptables", "--wait", "-t", table, "-X", c), null, "delete " + table + "/" + c);
                removed++;
            }
        }
        return removed;
    }

    private boolean exists(String table, String chain) {
        return exec(List.of("iptables", "--wait", "-t", table, "-n", "-L", chain), null).exit() == 0;
    }

    /** The current rules of one table, as iptables-save prints them. */
    public String save(String table) {
        return run(List.of("iptables-save", "-t", table), null, "read " + table + " rules");
    }

    private record Result(int exit, String out) {}

    private String run(List<String> cmd, String stdin, String what) {
        Result r = exec(cmd, stdin);
        if (r.exit() != 0) {
            throw new IllegalStateException(what + ": " + String.join(" ", cmd) + " failed: " + r.out().trim());
        }
        return r.out();
    }

    private Result exec(List<String> cmd, String stdin) {
        try {
            List<String> full = new ArrayList<>(prefix);
            full.addAll(cmd);
            Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(p.waitFor(), out);
        } catch (IOException e) {
            return new Result(127, cmd.getFirst() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(130, "interrupted");
        }
    }
}
