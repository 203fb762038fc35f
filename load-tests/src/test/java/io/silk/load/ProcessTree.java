package io.silk.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU time and memory of a process and its descendants (the controller; PostgreSQL's postmaster
 * and its backends), read from /proc. CPU counts each live process's own time plus the time of children
 * it has already reaped (PostgreSQL backends that ended), so nothing is counted twice.
 */
record ProcessTree(long rootPid) {

    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

    /** CPU seconds used so far by the root process and its descendants. */
    double cpuSeconds() {
        Map<Long, List<Long>> children = new HashMap<>();
        Map<Long, long[]> ticks = new HashMap<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path dir : (Iterable<Path>) dirs::iterator) {
                String name = dir.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String stat = Files.readString(dir.resolve("stat"));
                    // Fields after the command, which is in parentheses and may hold spaces.
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long pid = Long.parseLong(name);
                    children.computeIfAbsent(Long.parseLong(f[1]), k -> new ArrayList<>()).add(pid);
                    ticks.put(pid, new long[] {Long.parseLong(f[11]) + Long.parseLong(f[12]),
                            Long.parseLong(f[13]) + Long.parseLong(f[14])});
                } catch (IOException | RuntimeException gone) {
                    // The process ended while we looked.
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("read /proc: " + e.getMessage(), e);
        }
        long total = 0;
        List<Long> todo = new ArrayList<>(List.of(rootPid));
        while (!todo.isEmpty()) {
            long pid = todo.removeLast();
            long[] t = ticks.getOrDefault(pid, new long[2]);
            total += t[0] + t[1];
            todo.addAll(children.getOrDefault(pid, List.of()));
        }
        return total / TICKS_PER_SECOND;
    }

    /** CPU seconds used by the root process alone (the Gatling JVM, whose children are the servers it started). */
    double ownCpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(rootPid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
        } catch (IOException e) {
            throw new IllegalStateException("read CPU time of " + rootPid + ": " + e.getMessage(), e);
        }
    }

    /** Resident set size of the root process, in bytes. */
    long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(rootPid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("read VmRSS of " + rootPid + ": " + e.getMessage(), e);
        }
        throw new IllegalStateException("no VmRSS for " + rootPid);
    }
}
