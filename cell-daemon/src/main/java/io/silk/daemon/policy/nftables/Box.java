package io.silk.daemon.policy.nftables;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * A set element of an interval set as ranges, one per field (e.g. destination addresses × protocols
 * × ports). The kernel's concatenated interval sets refuse elements that partly overlap, while
 * policies overlap freely ("8080-8090" and "8085-8100"); {@link #cover} turns any boxes into
 * disjoint ones that match exactly the same packets.
 */
record Box(List<Range> fields) {

    /** Inclusive. */
    record Range(long lo, long hi) {
        Range {
            if (lo > hi) {
                throw new IllegalArgumentException("range " + lo + "-" + hi + " is empty");
            }
        }

        boolean covers(long a, long b) {
            return lo <= a && b <= hi;
        }
    }

    Box {
        fields = List.copyOf(fields);
    }

    static Box of(Range... fields) {
        return new Box(List.of(fields));
    }

    private static final Comparator<Box> ORDER = (a, b) -> {
        for (int i = 0; i < a.fields.size(); i++) {
            int c = Long.compare(a.fields.get(i).lo, b.fields.get(i).lo);
            if (c == 0) {
                c = Long.compare(a.fields.get(i).hi, b.fields.get(i).hi);
            }
            if (c != 0) {
                return c;
            }
        }
        return 0;
    };

    /**
     * Disjoint boxes covering exactly the union of {@code boxes} (all of the same arity), in a
     * canonical order, so equal unions give equal lists. Field by field: the first field is cut at
     * every box edge, each piece takes the boxes that span it, the rest of the fields are covered
     * recursively, and neighbouring pieces with the same rest are joined again.
     */
    static List<Box> cover(List<Box> boxes) {
        if (boxes.isEmpty()) {
            return List.of();
        }
        return cover(boxes, 0, boxes.getFirst().fields.size());
    }

    private static List<Box> cover(List<Box> boxes, int field, int arity) {
        if (field == arity) {
            return List.of(new Box(List.of()));
        }
        TreeSet<Long> edges = new TreeSet<>();
        for (Box b : boxes) {
            edges.add(b.fields.get(field).lo);
            edges.add(b.fields.get(field).hi + 1);
        }
        List<Box> out = new ArrayList<>();
        Range open = null;
        List<Box> openRest = null;
        Long previous = null;
        for (long edge : edges) {
            if (previous != null) {
                long lo = previous;
                long hi = edge - 1;
                List<Box> spanning = boxes.stream().filter(b -> b.fields.get(field).covers(lo, hi)).toList();
                List<Box> rest = spanning.isEmpty() ? List.of() : cover(spanning, field + 1, arity);
                if (open != null && open.hi + 1 == lo && rest.equals(openRest)) {
                    open = new Range(open.lo, hi);
                } else {
                    emit(out, open, openRest);
                    open = rest.isEmpty() ? null : new Range(lo, hi);
                    openRest = rest;
                }
            }
            previous = edge;
        }
        emit(out, open, openRest);
        out.sort(ORDER);
        return out;
    }

    private static void emit(List<Box> out, Range range, List<Box> rest) {
        if (range == null) {
            return;
        }
        for (Box r : rest) {
            List<Range> f = new ArrayList<>(r.fields.size() + 1);
            f.add(range);
            f.addAll(r.fields);
            out.add(new Box(f));
        }
    }
}
