package io.silk.daemon.watch;

import io.silk.daemon.controller.Controller;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one loop behind every watch of the controller (leases, policies): open a stream from the
 * last position, apply its messages, and when it breaks resume on the next replica with backoff.
 * The position is a revision and the database it belongs to; the server names its database on a
 * stream's first message, and a resume carries both, so a controller whose database was replaced
 * answers with a snapshot instead of deltas that belong to another history.
 */
public final class ResumableWatch<M> {

    private static final Logger log = LoggerFactory.getLogger(ResumableWatch.class);
    static final long FIRST_BACKOFF_MS = 200;
    static final long MAX_BACKOFF_MS = 5000;

    /** Where a watch is: the last revision applied and the database it came from ("" before the first). */
    public record Position(long revision, String databaseId) {
        public static final Position START = new Position(0, "");
    }

    /** What a kind of watch adds to the loop. */
    public interface Kind<M> {
        /** Opens one stream from {@code from} on the replica for {@code attempt}. */
        Controller.Stream open(int attempt, Position from, Controller.Listener<M> listener);

        /** Applies one message; {@code first} for the first message of a stream. A reset replaces the whole view. */
        void apply(M message, boolean first);

        boolean reset(M message);

        long revision(M message);

        /** The database id the message names ("" when it names none: only first messages do). */
        String databaseId(M message);
    }

    private final String name;
    private final IntFunction<String> replicas;
    private final Kind<M> kind;

    // Guarded by this.
    private Position position = Position.START;
    private boolean startOver;
    /** A restart was asked for since the current attempt began (guarded by this). */
    private boolean restartAsked;
    private Controller.Stream current;
    private volatile boolean connected;
    private final AtomicLong applied = new AtomicLong();

    /**
     * @param name     what is watched, for logs ("leases")
     * @param replicas the replica an attempt goes to, for logs
     */
    public ResumableWatch(String name, IntFunction<String> replicas, Kind<M> kind) {
        this.name = name;
        this.replicas = replicas;
        this.kind = kind;
    }

    public boolean connected() {
        return connected;
    }

    public synchronized Position position() {
        return position;
    }

    /** Messages applied since start. */
    public long applied() {
        return applied.get();
    }

    /** Ends the current stream; the next starts from a snapshot when {@code fromStart}, else resumes. */
    public void restart(boolean fromStart, String why) {
        Controller.Stream open;
        synchronized (this) {
            startOver |= fromStart;
            restartAsked = true;
            open = current;
        }
        // Outside the lock: a cancel may end the stream on this thread.
        if (open != null) {
            open.cancel(why);
        }
    }

    /** Watches until the thread is interrupted. */
    public void run() {
        long backoff = FIRST_BACKOFF_MS;
        for (int attempt = 0; !Thread.currentThread().isInterrupted(); attempt++) {
            CountDownLatch ended = new CountDownLatch(1);
            Position from;
            synchronized (this) {
                if (startOver) {
                    position = Position.START;
                    startOver = false;
                }
                from = position;
                current = null;
                restartAsked = false;
            }
            long before = applied.get();
            open(attempt, from, ended);
            try {
                ended.await();
                if (applied.get() > before) {
                    backoff = FIRST_BACKOFF_MS; // the stream worked for a while: reconnect quickly
                }
                Thread.sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            } catch (InterruptedException e) {
                restart(false, "the daemon is stopping");
                return;
            }
        }
    }

    private void open(int attempt, Position from, CountDownLatch ended) {
        Controller.Listener<M> listener = new Controller.Listener<>() {
            boolean first = true;

            @Override
            public void onMessage(M m) {
                boolean wasFirst = first;
                first = false;
                if (!connected) {
                    log.atInfo().addKeyValue("controller", replicas.apply(attempt))
                            .addKeyValue("from_revision", from.revision()).addKeyValue("database_id", from.databaseId())
                            .log("watching " + name);
                }
                connected = true;
                accept(m, wasFirst, from);
            }

            @Override
            public void onEnd(Throwable cause) {
                if (connected && cause != null) {
                    log.atWarn().addKeyValue("controller", replicas.apply(attempt)).addKeyValue("error", cause.getMessage())
                            .log(name + " watch broke; resuming");
                }
                connected = false;
                ended.countDown();
            }
        };
        Controller.Stream opened = kind.open(attempt, from, listener);
        boolean stale;
        synchronized (this) {
            current = opened;
            // A restart asked for while this stream was being opened (its first message may already
            // have been applied, and a restart then found no stream to end).
            stale = restartAsked;
        }
        if (stale) {
            opened.cancel("restarted while opening");
        }
    }

    /** Messages of one stream arrive one at a time and streams never overlap, so apply runs unlocked. */
    private void accept(M m, boolean first, Position from) {
        String id = kind.databaseId(m);
        if (first && !from.databaseId().isEmpty() && !id.isEmpty() && !id.equals(from.databaseId()) && !kind.reset(m)) {
            // Deltas from another database's history would corrupt the view: start over from a snapshot.
            log.atWarn().addKeyValue("database_id", id).addKeyValue("expected", from.databaseId())
                    .log("controller resumed the " + name + " watch on another database without a snapshot; starting over");
            restart(true, "database changed without a snapshot");
            return;
        }
        kind.apply(m, first);
        synchronized (this) {
            // A snapshot may go back in revision (a new database): take the message's revision as it is.
            position = new Position(kind.revision(m), id.isEmpty() ? position.databaseId() : id);
        }
        applied.incrementAndGet();
    }
}
