package io.silk.daemon.policy.nftables;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A map in the kernel (key to value) as the daemon wrote it: a key set to a new value is removed
 * and added again in the same transaction, a key set to nothing is removed.
 */
final class MapElements {

    final String name;
    private final Map<String, String> values = new HashMap<>();
    /** Keys touched by the open transaction, and their value before it ("" for none). */
    private final Map<String, String> touched = new HashMap<>();

    MapElements(String name) {
        this.name = name;
    }

    /** Sets {@code key} to {@code value}, or removes it when {@code value} is null. */
    void put(String key, String value) {
        touched.computeIfAbsent(key, k -> values.getOrDefault(k, ""));
        if (value == null) {
            values.remove(key);
        } else {
            values.put(key, value);
        }
    }

    void flush(Transaction tx) {
        touched.forEach((key, before) -> {
            String now = values.get(key);
            if (Objects.equals(before, now)) {
                return;
            }
            if (!before.isEmpty()) {
                tx.delete(name, key);
            }
            if (now != null) {
                tx.add(name, key + " : " + now);
            }
        });
        touched.clear();
    }

    void addAll(Transaction tx) {
        values.forEach((key, value) -> tx.add(name, key + " : " + value));
    }

    int size() {
        return values.size();
    }

    void clear() {
        values.clear();
        touched.clear();
    }
}
