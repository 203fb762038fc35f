package io.silk.daemon.policy.nftables;

import java.util.HashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * A hash set in the kernel whose elements several policies may ask for: the element is added when
 * its first policy comes and removed when its last one goes. Holds what the daemon wrote, so a
 * change never lists the kernel's set.
 */
final class CountedSet {

    final String name;
    private final Map<String, Integer> holders = new HashMap<>();
    /** Elements touched by the open transaction, and whether the kernel had them before it. */
    private final Map<String, Boolean> touched = new HashMap<>();

    CountedSet(String name) {
        this.name = name;
    }

    void hold(String element) {
        touch(element);
        holders.merge(element, 1, Integer::sum);
    }

    void release(String element) {
        touch(element);
        holders.computeIfPresent(element, (e, n) -> n == 1 ? null : n - 1);
    }

    private void touch(String element) {
        touched.computeIfAbsent(element, holders::containsKey);
    }

    /** Writes what changed since the last flush into {@code tx}. */
    void flush(Transaction tx) {
        touched.forEach((element, before) -> {
            boolean now = holders.containsKey(element);
            if (before && !now) {
                tx.delete(name, element);
            } else if (!before && now) {
                tx.add(name, element);
            }
        });
        touched.clear();
    }

    /** Every element, for a whole-table write. */
    void addAll(Transaction tx) {
        holders.keySet().forEach(e -> tx.add(name, e));
    }

    int size() {
        return holders.size();
    }

    void forEach(BiConsumer<String, Integer> action) {
        holders.forEach(action);
    }

    void clear() {
        holders.clear();
        touched.clear();
    }
}
