package io.silk.daemon.state;

import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.HeldLease;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the cell is, as immutable snapshots: the lease it holds and the containers attached.
 * Writers (the lease keeper, the CNI handler) publish; any number of listeners follow, each on a
 * thread of its own so a slow one (iptables) never holds up a writer (a CNI answer) or another
 * listener. A listener that falls behind is handed the latest snapshot, not every step.
 */
public final class CellState implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CellState.class);

    /** The cell at one moment. {@code lease} is null while it holds none. */
    public record Snapshot(long version, HeldLease lease, int mtu, List<AddressBook.Attachment> containers) {
        public static final Snapshot EMPTY = new Snapshot(0, null, 0, List.of());

        public Snapshot {
            containers = List.copyOf(containers);
        }

        /** The apps (policy groups) with a container here. */
        public Set<String> apps() {
            Set<String> apps = new TreeSet<>();
            containers.forEach(a -> {
                if (!a.appId().isEmpty()) {
                    apps.add(a.appId());
                }
            });
            return Set.copyOf(apps);
        }

        /** The spaces with a container here (their security-group bindings concern the cell). */
        public Set<String> spaces() {
            Set<String> spaces = new TreeSet<>();
            containers.forEach(a -> {
                if (!a.metadata().spaceId().isEmpty()) {
                    spaces.add(a.metadata().spaceId());
                }
            });
            return Set.copyOf(spaces);
        }
    }

    /** Follows the cell: called with the snapshot it saw last (EMPTY at first) and the newest. */
    public interface Listener {
        void changed(Snapshot before, Snapshot now);
    }

    private final AtomicReference<Snapshot> current = new AtomicReference<>(Snapshot.EMPTY);
    private final List<Follower> followers = new ArrayList<>();

    public Snapshot current() {
        return current.get();
    }

    /** Publishes the lease (null: none) and its MTU. */
    public void lease(HeldLease lease, int mtu) {
        publish(s -> new Snapshot(s.version() + 1, lease, mtu, s.containers()));
    }

    /** Publishes the containers now attached. */
    public void containers(List<AddressBook.Attachment> containers) {
        publish(s -> new Snapshot(s.version() + 1, s.lease(), s.mtu(), containers));
    }

    private void publish(UnaryOperator<Snapshot> change) {
        List<Follower> to;
        synchronized (this) {
            Snapshot next = change.apply(current.get());
            current.set(next);
            to = List.copyOf(followers);
        }
        to.forEach(Follower::wake);
    }

    /** Adds a listener; it is called at once (on its thread) with the current snapshot. */
    public synchronized void subscribe(String name, Listener listener) {
        Follower f = new Follower(name, listener);
        followers.add(f);
        f.thread.start();
        f.wake();
    }

    @Override
    public synchronized void close() {
        followers.forEach(f -> f.thread.interrupt());
        followers.clear();
    }

    private final class Follower implements Runnable {
        final String name;
        final Listener listener;
        final Thread thread;
        private Snapshot seen; // null until the first call
        private boolean woken;

        Follower(String name, Listener listener) {
            this.name = name;
            this.listener = listener;
            this.thread = Thread.ofPlatform().name("cell-" + name).daemon().unstarted(this);
        }

        synchronized void wake() {
            woken = true;
            notifyAll();
        }

        @Override
        public void run() {
            while (!Thread.currentThread().isInterrupted()) {
                synchronized (this) {
                    while (!woken) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    woken = false;
                }
                Snapshot now = current.get();
                if (now == seen) {
                    continue;
                }
                try {
                    listener.changed(seen == null ? Snapshot.EMPTY : seen, now);
                } catch (RuntimeException e) {
                    // The next change tries again from the same "before": nothing is skipped for good.
                    log.atWarn().addKeyValue("listener", name).addKeyValue("error", e.toString())
                            .log("cell state listener failed");
                    continue;
                }
                seen = now;
            }
        }
    }
}
