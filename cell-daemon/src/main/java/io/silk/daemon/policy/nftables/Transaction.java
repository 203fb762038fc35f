package io.silk.daemon.policy.nftables;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The element changes of one nft transaction, grouped by set: every removal first, then every
 * addition, so an element replaced by an overlapping one (a merged port range, a container's new
 * tag) changes within the one atomic commit and allowed traffic sees no gap.
 */
final class Transaction {

    private final String table;
    private final Map<String, List<String>> deletes = new LinkedHashMap<>();
    private final Map<String, List<String>> adds = new LinkedHashMap<>();

    Transaction(String table) {
        this.table = table;
    }

    void add(String set, String element) {
        adds.computeIfAbsent(set, s -> new ArrayList<>()).add(element);
    }

    /** For a map, the element is the key only. */
    void delete(String set, String element) {
        deletes.computeIfAbsent(set, s -> new ArrayList<>()).add(element);
    }

    boolean isEmpty() {
        return deletes.isEmpty() && adds.isEmpty();
    }

    int size() {
        return deletes.values().stream().mapToInt(List::size).sum() + adds.values().stream().mapToInt(List::size).sum();
    }

    /** nft's script; one element a line, so nft's error points at a short line. */
    String script() {
        StringBuilder b = new StringBuilder();
        append(b, "delete", deletes);
        append(b, "add", adds);
        return b.toString();
    }

    void appendTo(StringBuilder b) {
        append(b, "delete", deletes);
        append(b, "add", adds);
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
