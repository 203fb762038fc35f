package io.silk.daemon.policy.nftables;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What containers may reach outside the overlay, shared by the containers that may reach the same:
 * each container's egress (its boxes of {@code egress}, {@code egress_icmp} and
 * {@code egress_logged}) is one of a few distinct profiles; the kernel holds each profile's boxes
 * once, keyed by the profile's number, and the map {@code container_profile} from container to
 * profile. A container arriving where others already have its egress (same space, lifecycle and
 * DNS servers) changes one map element; a group's change rewrites the boxes of the profiles it is
 * part of. Why: in a concatenated interval set the kernel spends time linear in the set's size on
 * every element changed, and with every container's boxes in one set (250 containers × 100 boxes)
 * a container's arrival took about a second, during which the cell's other netlink calls waited.
 */
final class EgressProfiles {

    /** Which set a box belongs to. */
    enum Kind { EGRESS, ICMP, LOGGED }

    /** A profile's boxes, each list the disjoint cover, in a fixed order. */
    private record Content(List<Box> egress, List<Box> icmp, List<Box> logged) {
        boolean isEmpty() {
            return egress.isEmpty() && icmp.isEmpty() && logged.isEmpty();
        }
    }

    private static final class Profile {
        final int id;
        int containers;

        Profile(int id) {
            this.id = id;
        }
    }

    private final IntervalSet egress;
    private final IntervalSet icmp;
    private final IntervalSet logged;
    private final MapElements containerProfile = new MapElements(Ruleset.CONTAINER_PROFILE);
    /** Per container: the boxes its rules ask for, per kind (a multiset: rules may repeat a box). */
    private final Map<String, List<List<Box>>> wanted = new HashMap<>();
    private final Set<String> touched = new HashSet<>();
    private final Map<String, Content> contentOf = new HashMap<>();
    private final Map<Content, Profile> profiles = new HashMap<>();
    private final TreeSet<Integer> freeIds = new TreeSet<>();
    private int nextId = 1;

    EgressProfiles(IntervalSet egress, IntervalSet icmp, IntervalSet logged) {
        this.egress = egress;
        this.icmp = icmp;
        this.logged = logged;
    }

    void hold(String container, Kind kind, Box box) {
        touched.add(container);
        wanted.computeIfAbsent(container, c -> List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>()))
                .get(kind.ordinal()).add(box);
    }

    void release(String container, Kind kind, Box box) {
        touched.add(container);
        List<List<Box>> boxes = wanted.get(container);
        if (boxes != null) {
            boxes.get(kind.ordinal()).remove(box);
            if (boxes.stream().allMatch(List::isEmpty)) {
                wanted.remove(container);
            }
        }
    }

    /** Moves every touched container to the profile of its boxes now, then writes what changed. */
    void flush(Transaction tx) {
        for (String container : touched) {
            List<List<Box>> boxes = wanted.get(container);
            Content now = boxes == null ? new Content(List.of(), List.of(), List.of())
                    : new Content(Box.cover(boxes.get(0)), Box.cover(boxes.get(1)), Box.cover(boxes.get(2)));
            Content before = contentOf.get(container);
            if (now.equals(before)) {
                continue;
            }
            if (now.isEmpty()) {
                contentOf.remove(container);
                containerProfile.put(container, null);
            } else {
                Profile p = profiles.computeIfAbsent(now, this::create);
                p.containers++;
                contentOf.put(container, now);
                containerProfile.put(container, NftablesBackend.hex(p.id));
            }
            if (before != null) {
                Profile old = profiles.get(before);
                if (--old.containers == 0) {
                    write(old.id, before, false);
                    profiles.remove(before);
                    freeIds.add(old.id);
                }
            }
        }
        touched.clear();
        egress.flush(tx);
        icmp.flush(tx);
        logged.flush(tx);
        containerProfile.flush(tx);
    }

    private Profile create(Content content) {
        int id = freeIds.isEmpty() ? nextId++ : freeIds.pollFirst();
        write(id, content, true);
        return new Profile(id);
    }

    private void write(int id, Content c, boolean hold) {
        String scope = NftablesBackend.hex(id);
        IntervalSet[] sets = {egress, icmp, logged};
        List<List<Box>> lists = List.of(c.egress(), c.icmp(), c.logged());
        for (int k = 0; k < sets.length; k++) {
            for (Box b : lists.get(k)) {
                if (hold) {
                    sets[k].hold(scope, b);
                } else {
                    sets[k].release(scope, b);
                }
            }
        }
    }

    void addAll(Transaction tx) {
        egress.addAll(tx);
        icmp.addAll(tx);
        logged.addAll(tx);
        containerProfile.addAll(tx);
    }

    /** How many distinct profiles the cell's containers have. */
    int profiles() {
        return profiles.size();
    }

    int mapSize() {
        return containerProfile.size();
    }

    void clear() {
        wanted.clear();
        touched.clear();
        contentOf.clear();
        profiles.clear();
        freeIds.clear();
        nextId = 1;
        egress.clear();
        icmp.clear();
        logged.clear();
        containerProfile.clear();
    }
}
