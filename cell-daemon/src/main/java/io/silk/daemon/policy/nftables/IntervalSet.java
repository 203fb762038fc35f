package io.silk.daemon.policy.nftables;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongFunction;
import java.util.stream.Collectors;

/**
 * A concatenated interval set in the kernel: elements are a scope (exact fields, e.g. a container's
 * address) followed by ranges. Each scope keeps the boxes its policies ask for and writes their
 * disjoint {@linkplain Box#cover cover}; a change rewrites only the scopes it touched, with the
 * elements that differ.
 */
final class IntervalSet {

    final String name;
    private final List<LongFunction<String>> formats;
    private final Map<String, List<Box>> wanted = new HashMap<>();
    private final Map<String, List<Box>> written = new HashMap<>();
    private final Set<String> touched = new HashSet<>();

    /** {@code formats}: how each range field is spelled (an address, a number). */
    IntervalSet(String name, List<LongFunction<String>> formats) {
        this.name = name;
        this.formats = List.copyOf(formats);
    }

    void hold(String scope, Box box) {
        touched.add(scope);
        wanted.computeIfAbsent(scope, s -> new ArrayList<>()).add(box);
    }

    void release(String scope, Box box) {
        touched.add(scope);
        List<Box> boxes = wanted.get(scope);
        if (boxes != null) {
            boxes.remove(box);
            if (boxes.isEmpty()) {
                wanted.remove(scope);
            }
        }
    }

    void flush(Transaction tx) {
        for (String scope : touched) {
            List<Box> before = written.getOrDefault(scope, List.of());
            List<Box> now = Box.cover(wanted.getOrDefault(scope, List.of()));
            if (now.equals(before)) {
                continue;
            }
            Set<Box> keep = new HashSet<>(now);
            keep.retainAll(before);
            before.stream().filter(b -> !keep.contains(b)).forEach(b -> tx.delete(name, element(scope, b)));
            now.stream().filter(b -> !keep.contains(b)).forEach(b -> tx.add(name, element(scope, b)));
            if (now.isEmpty()) {
                written.remove(scope);
            } else {
                written.put(scope, now);
            }
        }
        touched.clear();
    }

    void addAll(Transaction tx) {
        written.forEach((scope, boxes) -> boxes.forEach(b -> tx.add(name, element(scope, b))));
    }

    int size() {
        return written.values().stream().mapToInt(List::size).sum();
    }

    String element(String scope, Box box) {
        List<Box.Range> f = box.fields();
        return scope + " . " + java.util.stream.IntStream.range(0, f.size())
                .mapToObj(i -> formats.get(i).apply(f.get(i).lo()) + "-" + formats.get(i).apply(f.get(i).hi()))
                .collect(Collectors.joining(" . "));
    }

    void clear() {
        wanted.clear();
        written.clear();
        touched.clear();
    }
}
