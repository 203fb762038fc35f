package io.silk.daemon.watch;

import static io.silk.testing.Eventually.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.controller.Controller;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The loop itself, with streams scripted in memory: positions, database identity, restarts. */
class ResumableWatchTest {

    record Message(boolean reset, long revision, String databaseId) {}

    /** Answers each open with the scripted first message, then leaves the stream open until cancelled. */
    static class Scripted implements ResumableWatch.Kind<Message> {
        final List<ResumableWatch.Position> opened = new CopyOnWriteArrayList<>();
        final List<Message> applied = new CopyOnWriteArrayList<>();
        volatile java.util.function.Function<ResumableWatch.Position, Message> answer;

        @Override
        public Controller.Stream open(int attempt, ResumableWatch.Position from, Controller.Listener<Message> listener) {
            opened.add(from);
            Message first = answer.apply(from);
            Thread.ofVirtual().start(() -> listener.onMessage(first));
            return why -> Thread.ofVirtual().start(() -> listener.onEnd(new IllegalStateException("cancelled: " + why)));
        }

        @Override
        public void apply(Message m, boolean first) {
            applied.add(m);
        }

        @Override
        public boolean reset(Message m) {
            return m.reset();
        }

        @Override
        public long revision(Message m) {
            return m.revision();
        }

        @Override
        public String databaseId(Message m) {
            return m.databaseId();
        }
    }

    final Scripted kind = new Scripted();
    final ResumableWatch<Message> watch = new ResumableWatch<>("things", attempt -> "replica-" + attempt, kind);
    Thread loop;

    @AfterEach
    void stop() throws InterruptedException {
        loop.interrupt();
        loop.join();
    }

    @Test
    void aResumeCarriesTheRevisionAndTheDatabaseOfTheLastMessage() {
        kind.answer = from -> from.revision() == 0 ? new Message(true, 7, "db-1") : new Message(false, 9, "db-1");
        loop = Thread.ofPlatform().start(watch::run);
        await("snapshot applied", () -> watch.position().equals(new ResumableWatch.Position(7, "db-1")));

        watch.restart(false, "test: the replica went away");

        await("resumed", () -> kind.opened.size() == 2 && watch.position().revision() == 9);
        assertThat(kind.opened).containsExactly(ResumableWatch.Position.START, new ResumableWatch.Position(7, "db-1"));
        assertThat(watch.position()).isEqualTo(new ResumableWatch.Position(9, "db-1"));
    }

    @Test
    void aSnapshotFromANewDatabaseMovesThePositionBackToItsRevision() {
        kind.answer = from -> from.databaseId().isEmpty() ? new Message(true, 500, "db-1") : new Message(true, 3, "db-2");
        loop = Thread.ofPlatform().start(watch::run);
        await("first snapshot", () -> watch.position().revision() == 500);

        watch.restart(false, "test: the database was replaced");

        await("new database", () -> watch.position().equals(new ResumableWatch.Position(3, "db-2")));
    }

    @Test
    void deltasFromAnotherDatabaseAreNotAppliedAndTheWatchStartsOverFromASnapshot() {
        kind.answer = from -> switch (kind.opened.size()) {
            case 1 -> new Message(true, 7, "db-1");
            case 2 -> new Message(false, 8, "db-2"); // a server that resumed another history: wrong
            default -> new Message(true, 2, "db-2");
        };
        loop = Thread.ofPlatform().start(watch::run);
        await("first snapshot", () -> watch.position().revision() == 7);

        watch.restart(false, "test: reconnect");

        await("started over", () -> kind.opened.size() == 3 && watch.position().equals(new ResumableWatch.Position(2, "db-2")));
        assertThat(kind.opened.get(2)).as("from a snapshot").isEqualTo(ResumableWatch.Position.START);
        assertThat(kind.applied).extracting(Message::revision).containsExactly(7L, 2L);
    }

    @Test
    void aRestartFromTheStartForgetsThePosition() {
        kind.answer = from -> new Message(true, 4, "db-1");
        loop = Thread.ofPlatform().start(watch::run);
        await("first snapshot", () -> watch.position().revision() == 4);

        watch.restart(true, "test: the cell's apps changed");

        await("reopened", () -> kind.opened.size() == 2);
        assertThat(kind.opened.get(1)).isEqualTo(ResumableWatch.Position.START);
    }

    /**
     * A restart asked for once the first message was applied but before the loop took note of the
     * stream it had opened (the message can arrive first) is not lost: the stream is ended.
     */
    @Test
    void aRestartWhileTheStreamIsBeingOpenedIsNotLost() {
        java.util.concurrent.CountDownLatch firstApplied = new java.util.concurrent.CountDownLatch(1);
        Scripted slow = new Scripted() {
            @Override
            public Controller.Stream open(int attempt, ResumableWatch.Position from, Controller.Listener<Message> listener) {
                Controller.Stream s = super.open(attempt, from, listener);
                if (attempt == 0) {
                    try {
                        firstApplied.await(); // the first message is applied before open returns
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return s;
            }

            @Override
            public void apply(Message m, boolean first) {
                super.apply(m, first);
                if (opened.size() == 1) {
                    watchOf(this).restart(false, "test: restart while opening");
                }
                firstApplied.countDown();
            }
        };
        slow.answer = from -> from.revision() == 0 ? new Message(true, 7, "db-1") : new Message(false, 9, "db-1");
        ResumableWatch<Message> w = new ResumableWatch<>("things", attempt -> "replica-" + attempt, slow);
        watches.put(slow, w);
        loop = Thread.ofPlatform().start(w::run);
        await("resumed after the restart", () -> slow.opened.size() == 2 && w.position().revision() == 9);
    }

    final java.util.Map<Scripted, ResumableWatch<Message>> watches = new java.util.concurrent.ConcurrentHashMap<>();

    ResumableWatch<Message> watchOf(Scripted s) {
        return watches.get(s);
    }
}
