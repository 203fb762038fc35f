package io.silk.daemon.state;

import static io.silk.testing.Eventually.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.daemon.TestLeases;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.HeldLease;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CellStateTest {

    final CellState cell = new CellState();

    @AfterEach
    void close() {
        cell.close();
    }

    static AddressBook.Attachment container(String ip, String app) {
        return new AddressBook.Attachment("ctr-" + ip, "eth0", ip, "s-" + ip, app);
    }

    record Call(CellState.Snapshot before, CellState.Snapshot now) {}

    @Test
    void everyListenerFollowsTheCellAndASlowOneNeitherHoldsUpWritersNorTheOthers() throws Exception {
        List<Call> fast = new CopyOnWriteArrayList<>();
        List<Call> slow = new CopyOnWriteArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        cell.subscribe("fast", (before, now) -> fast.add(new Call(before, now)));
        cell.subscribe("slow", (before, now) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            slow.add(new Call(before, now));
        });

        HeldLease lease = TestLeases.held("10.0.0.5", "10.255.1.0/24", "ee:ee:0a:ff:01:00", "10.255.0.0/16");
        cell.lease(lease, 1450);
        cell.containers(List.of(container("10.255.1.2", "app-a")));
        cell.containers(List.of(container("10.255.1.2", "app-a"), container("10.255.1.3", "app-b")));

        await("the fast listener saw the last change", () -> !fast.isEmpty() && fast.getLast().now().version() == 3);
        for (int i = 1; i < fast.size(); i++) {
            assertThat(fast.get(i).before()).as("each call starts where the last ended").isSameAs(fast.get(i - 1).now());
        }
        assertThat(fast.getLast().now().apps()).containsExactlyInAnyOrder("app-a", "app-b");
        assertThat(fast.getLast().now().lease()).isEqualTo(lease);

        release.countDown();
        await("the slow listener caught up", () -> !slow.isEmpty() && slow.getLast().now().version() == 3);
        assertThat(slow.size()).as("a listener that fell behind gets the latest, not every step").isLessThanOrEqualTo(2);
    }

    @Test
    void snapshotsAreImmutable() {
        List<AddressBook.Attachment> mine = new ArrayList<>(List.of(container("10.255.1.2", "app-a")));
        cell.containers(mine);
        mine.add(container("10.255.1.3", "app-b"));

        CellState.Snapshot s = cell.current();
        assertThat(s.containers()).hasSize(1);
        assertThatThrownBy(() -> s.containers().add(container("10.255.1.4", "app-c")))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> s.apps().add("app-x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void aListenerThatFailsIsCalledAgainOnTheNextChangeFromWhereItWas() {
        List<Call> calls = new CopyOnWriteArrayList<>();
        cell.subscribe("flaky", (before, now) -> {
            calls.add(new Call(before, now));
            if (now.version() == 1) {
                throw new IllegalStateException("iptables-restore failed");
            }
        });
        cell.containers(List.of(container("10.255.1.2", "app-a")));
        await("first call", () -> calls.stream().anyMatch(c -> c.now().version() == 1));
        cell.containers(List.of());
        await("second call", () -> calls.stream().anyMatch(c -> c.now().version() == 2));
        assertThat(calls.getLast().before().version()).as("the failed step is not taken as done").isZero();
    }
}
