package io.silk.controller.feed;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * One watch call on any event log: subscribes to the {@link ChangeFeed}, turns what it receives
 * into the call's messages and sends them through a flow-controlled {@link StreamOutbox}. The
 * first message of every stream names the database its revisions belong to.
 *
 * @param <E> the log's event
 * @param <M> the stream's response message
 */
public final class WatchSession<E, M> implements ChangeFeed.Subscriber<E> {

    /** How one kind of watch writes its messages. */
    public interface Messages<E, M> {
        /** A snapshot: replace everything with {@code current}. Always names the database. */
        M reset(List<E> current, long revision, String databaseId);

        /** Changes, in revision order. {@code databaseId} is empty except on a stream's first message. */
        M changes(List<E> events, long revision, String databaseId);

        /** "You are current at {@code revision}": the first message when there is nothing to catch up on. */
        M current(long revision, String databaseId);

        long revisionOf(M message);
    }

    private final ChangeFeed<?, E> feed;
    private final Messages<E, M> messages;
    private final Predicate<? super E> interest;
    private final StreamOutbox<M> outbox;
    // Written only under the feed's lock (every Subscriber call holds it).
    private long position;
    private boolean sentFirst;

    public WatchSession(ServerCallStreamObserver<M> out, ChangeFeed<?, E> feed, Predicate<? super E> interest,
            Messages<E, M> messages, int queueLimit, long fromRevision) {
        this.feed = feed;
        this.messages = messages;
        this.interest = interest;
        this.position = fromRevision;
        this.outbox = new StreamOutbox<>(out, queueLimit, fromRevision, messages::revisionOf, () -> feed.unsubscribe(this));
    }

    /** Subscribes (which queues the first message) and starts sending; throws {@link NotReady}. */
    public void start(String clientDatabaseId) {
        feed.subscribe(position, clientDatabaseId, interest, this);
        outbox.drain();
    }

    private String databaseIdOnFirst() {
        if (sentFirst) {
            return "";
        }
        sentFirst = true;
        String id = feed.databaseId();
        return id == null ? "" : id;
    }

    @Override
    public void reset(List<E> current, long revision) {
        position = revision;
        sentFirst = true;
        String id = feed.databaseId();
        outbox.send(messages.reset(current, revision, id == null ? "" : id));
    }

    @Override
    public void events(List<E> events) {
        List<E> fresh = events;
        if (feed.eventLog().revision(events.getFirst()) <= position) {
            fresh = new ArrayList<>(events.size());
            for (E e : events) {
                if (feed.eventLog().revision(e) > position) {
                    fresh.add(e);
                }
            }
            if (fresh.isEmpty()) {
                return;
            }
        }
        position = feed.eventLog().revision(fresh.getLast());
        outbox.send(messages.changes(fresh, position, databaseIdOnFirst()));
    }

    @Override
    public void current(long revision) {
        position = revision;
        outbox.send(messages.current(revision, databaseIdOnFirst()));
    }

    @Override
    public void abort(String why) {
        outbox.fail(Status.UNAVAILABLE.withDescription(why));
    }
}
