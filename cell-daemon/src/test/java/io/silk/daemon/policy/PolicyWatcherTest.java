package io.silk.daemon.policy;

import static io.silk.daemon.Cells.CELL;
import static io.silk.testing.Eventually.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.Cells;
import io.silk.daemon.TestLeases;
import io.silk.daemon.controller.GrpcController;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.state.CellState;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.testing.FakeController;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The policy watch on the shared resumable loop, with the rules as data. */
class PolicyWatcherTest {

    /** The backend as data: what it was asked to enforce. */
    static final class RecordingBackend implements PolicyBackend {
        final boolean fresh;
        final List<PolicyRules.Inputs> applied = new CopyOnWriteArrayList<>();

        RecordingBackend(boolean fresh) {
            this.fresh = fresh;
        }

        @Override
        public boolean prepare() {
            return fresh;
        }

        @Override
        public void apply(PolicyRules.Inputs inputs) {
            applied.add(inputs);
        }

        @Override
        public int removeAll() {
            return 0;
        }

        List<Long> enforcedIds() {
            return applied.isEmpty() ? List.of() : applied.getLast().c2c().stream().map(C2CPolicy::getId).sorted().toList();
        }
    }

    final FakeController fake = FakeController.start();
    final GrpcController controller = Cells.controller(fake);
    final CellState cell = new CellState();
    Thread loop;

    static AddressBook.Attachment container(String ip, String app) {
        return new AddressBook.Attachment("ctr-" + ip, "eth0", ip, "s-" + ip, app);
    }

    static C2CPolicy policy(String from, String to, int port) {
        return C2CPolicy.newBuilder().setSourceId(from).setSourceTag(1).setDestinationId(to).setDestinationTag(2)
                .setProtocol("tcp").setStartPort(port).setEndPort(port).build();
    }

    PolicyWatcher start(RecordingBackend backend) {
        fake.putLease(CELL, "10.255.1.0/24");
        cell.lease(TestLeases.held(CELL, "10.255.1.0/24", "ee:ee:0a:ff:01:00", "10.255.0.0/16"), 1450);
        cell.containers(List.of(container("10.255.1.2", "app-a")));
        PolicyWatcher w = new PolicyWatcher(controller, cell, backend, false);
        w.prepare();
        loop = Thread.ofPlatform().name("test-policy-watch").start(w::watchLoop);
        return w;
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (loop != null) {
            loop.interrupt();
            loop.join();
        }
        cell.close();
        controller.close();
        fake.close();
    }

    @Test
    void policiesOfTheCellsAppsAreEnforcedAndChangesFollow() {
        C2CPolicy ab = fake.addPolicy(policy("app-a", "app-b", 8080));
        fake.addPolicy(policy("app-x", "app-y", 9000)); // concerns no app here
        RecordingBackend backend = new RecordingBackend(true);
        start(backend);

        await("a→b enforced", () -> backend.enforcedIds().equals(List.of(ab.getId())));
        C2CPolicy ca = fake.addPolicy(policy("app-c", "app-a", 7000));
        await("c→a enforced", () -> backend.enforcedIds().equals(List.of(ab.getId(), ca.getId())));
        fake.removePolicy(ab.getId());
        await("a→b gone", () -> backend.enforcedIds().equals(List.of(ca.getId())));
        assertThat(backend.applied.getLast().containers()).containsExactly(new PolicyRules.LocalContainer("10.255.1.2", "app-a"));
    }

    @Test
    void aBrokenWatchResumesFromItsRevisionAndDatabase() {
        fake.addPolicy(policy("app-a", "app-b", 8080));
        RecordingBackend backend = new RecordingBackend(true);
        PolicyWatcher watcher = start(backend);
        await("snapshot applied", () -> backend.enforcedIds().size() == 1);
        long revision = watcher.position().revision();

        fake.unreachable();
        fake.reachable();
        C2CPolicy later = fake.addPolicy(policy("app-a", "app-c", 8081));

        await("the later policy arrives", () -> backend.enforcedIds().contains(later.getId()));
        PolicyWatchRequest resume = fake.policyWatches().get(1);
        assertThat(resume.getFromRevision()).isEqualTo(revision);
        assertThat(resume.getDatabaseId()).isEqualTo(fake.databaseId());
    }

    @Test
    void aNewDatabaseGivesASnapshotThatReplacesEveryPolicyKnown() {
        fake.addPolicy(policy("app-a", "app-b", 8080));
        fake.addPolicy(policy("app-a", "app-c", 8081));
        RecordingBackend backend = new RecordingBackend(true);
        PolicyWatcher watcher = start(backend);
        await("two policies enforced", () -> backend.enforcedIds().size() == 2);

        fake.newDatabase(Map.of(CELL, "10.255.1.0/24"));
        C2CPolicy fresh = fake.addPolicy(policy("app-d", "app-a", 9000));

        await("only the new database's policy", () -> backend.enforcedIds().equals(List.of(fresh.getId()))
                && backend.applied.getLast().c2c().iterator().next().getSourceId().equals("app-d"));
        assertThat(watcher.policies()).extracting(C2CPolicy::getSourceId).containsExactly("app-d");
    }

    @Test
    void whenTheCellsAppsChangeTheWatchStartsOverForTheNewSet() {
        RecordingBackend backend = new RecordingBackend(true);
        start(backend);
        await("watching app-a", () -> fake.openPolicyWatches() == 1);

        cell.containers(List.of(container("10.255.1.2", "app-a"), container("10.255.1.3", "app-b")));

        await("a watch for both apps", () -> fake.policyWatches().stream()
                .anyMatch(r -> r.getAppIdsList().containsAll(List.of("app-a", "app-b"))));
        PolicyWatchRequest again = fake.policyWatches().getLast();
        assertThat(again.getFromRevision()).as("another set of apps starts from a snapshot").isZero();
        assertThat(again.getDatabaseId()).isEmpty();
        await("rules for the new container", () -> backend.applied.getLast().containers().size() == 2);
    }

    @Test
    void afterARestartTheKernelsRulesStandUntilTheFirstSnapshot() {
        C2CPolicy ab = fake.addPolicy(policy("app-a", "app-b", 8080));
        fake.unreachable();
        RecordingBackend backend = new RecordingBackend(false); // silk rules from the last run are in the kernel
        start(backend);
        cell.containers(List.of(container("10.255.1.2", "app-a"), container("10.255.1.3", "app-a")));

        fake.reachable();
        await("rules once the snapshot came", () -> !backend.applied.isEmpty());
        assertThat(backend.applied.getFirst().c2c()).as("never rendered from an empty policy set")
                .extracting(C2CPolicy::getId).containsExactly(ab.getId());
    }
}
