package io.silk.daemon.policy.nftables;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The element changes of one nft transaction, grouped by set: sets emptied first, then every
 * removal, then every addition, so an element replaced by an overlapping one (a merged port range,
 * a container's new tag) changes within the one atomic commit and allowed traffic sees no gap.
 * Elements are spelled as nft spells them; {@link SetLayout} encodes them for netlink.
 */
public final class Transaction {

    private final String table;
    private final List<String> flushes = new ArrayList<>();
    private final Map<String, List<String>> deletes = new LinkedHashMap<>();
    private final Map<String, List<String>> adds = new LinkedHashMap<>();

    public Transaction(String table) {
        this.table = table;
    }

    /** Empties the set first (a whole write of the elements). */
    public void flush(String set) {
        flushes.add(set);
    }

    public void add(String set, String element) {
        adds.computeIfAbsent(set, s -> new ArrayList<>()).add(element);
    }

    /** For a map, the element is the key only. */
    public void delete(String set, String element) {
        deletes.computeIfAbsent(set, s -> new ArrayList<>()).add(element);
    }

    public boolean isEmpty() {
        return flushes.isEmpty() && deletes.isEmpty() && adds.isEmpty();
    }

    public String table() {
        return table;
    }

    public List<String> flushes() {
        return flushes;
    }

    /** Removals by set, in order. */
    public Map<String, List<String>> deletes() {
        return deletes;
    }

    /** Additions by set, in order. */
    public Map<String, List<String>> adds() {
        return adds;
    }

    public int size() {
        return deletes.values().stream().mapToInt(List::size).sum() + adds.values().stream().mapToInt(List::size).sum();
    }

    /** nft's script; one element a line, so nft's error points at a short line. */
    public String script() {
        StringBuilder b = new StringBuilder();
        flushes.forEach(set -> b.append(SetLayout.of(set).data() != null ? "flush map " : "flush set ").append(table).append(' ').append(set).append('\n'));
        append(b, "delete", deletes);
        append(b, "add", adds);
        return b.toString();
    }

    private void append(StringBuilder b, String verb, Map<String, List<String>> bySet) {
        bySet.forEach((set, elements) -> {
            b.append(verb).append(" element ").append(table).append(' ').append(set).append(" {\n");
            for (int i = 0; i < elements.size(); i++) {
                b.append("  ").append(elements.get(i)).append(i + 1 < elements.size() ? ",\n" : "\n");
            }
            b.append("}\n");
        });
    }
}
