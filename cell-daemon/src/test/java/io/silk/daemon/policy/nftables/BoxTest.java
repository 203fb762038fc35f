package io.silk.daemon.policy.nftables;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BoxTest {

    static Box.Range r(long lo, long hi) {
        return new Box.Range(lo, hi);
    }

    @Test
    void overlappingRangesBecomeOne() {
        assertThat(Box.cover(List.of(Box.of(r(8080, 8090)), Box.of(r(8085, 8100)))))
                .containsExactly(Box.of(r(8080, 8100)));
        assertThat(Box.cover(List.of(Box.of(r(1, 5)), Box.of(r(6, 9)), Box.of(r(20, 30)))))
                .as("adjacent join, gaps stay").containsExactly(Box.of(r(1, 9)), Box.of(r(20, 30)));
        assertThat(Box.cover(List.of(Box.of(r(1, 100)), Box.of(r(10, 20))))).containsExactly(Box.of(r(1, 100)));
        assertThat(Box.cover(List.of())).isEmpty();
    }

    @Test
    void boxesOfSeveralFieldsAreCutWhereTheyOverlap() {
        // Addresses 10-20 any port, and addresses 15-30 port 443.
        List<Box> cover = Box.cover(List.of(Box.of(r(10, 20), r(0, 65535)), Box.of(r(15, 30), r(443, 443))));
        assertThat(cover).containsExactly(Box.of(r(10, 20), r(0, 65535)), Box.of(r(21, 30), r(443, 443)));
    }

    /** Any boxes: the cover is disjoint and matches exactly the points the boxes match. */
    @Test
    void theCoverMatchesExactlyTheSamePointsWithoutOverlaps() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            List<Box> boxes = new ArrayList<>();
            for (int i = 0; i < 1 + random.nextInt(6); i++) {
                long a = random.nextInt(12);
                long b = random.nextInt(12);
                long c = random.nextInt(12);
                long d = random.nextInt(12);
                boxes.add(Box.of(r(Math.min(a, b), Math.max(a, b)), r(Math.min(c, d), Math.max(c, d))));
            }
            List<Box> cover = Box.cover(boxes);
            for (long x = 0; x < 12; x++) {
                for (long y = 0; y < 12; y++) {
                    long px = x;
                    long py = y;
                    boolean inBoxes = boxes.stream().anyMatch(bx -> contains(bx, px, py));
                    long inCover = cover.stream().filter(bx -> contains(bx, px, py)).count();
                    assertThat(inCover).as("point %d,%d of %s in %s", x, y, boxes, cover).isEqualTo(inBoxes ? 1 : 0);
                }
            }
            assertThat(Box.cover(boxes.reversed())).as("canonical").isEqualTo(cover);
        }
    }

    static boolean contains(Box b, long x, long y) {
        return b.fields().get(0).covers(x, x) && b.fields().get(1).covers(y, y);
    }
}
