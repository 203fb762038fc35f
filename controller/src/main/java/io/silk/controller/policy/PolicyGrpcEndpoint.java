package io.silk.controller.policy;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.silk.controller.feed.StreamOutbox;
import io.silk.controller.identity.CallerIdentity;
import io.silk.controller.lease.LeaseRejection;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import java.util.List;
import java.util.Set;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/** The silk.v1 PolicyService: each cell watches the policies of the apps it hosts. */
@Component
public class PolicyGrpcEndpoint extends PolicyServiceGrpc.PolicyServiceImplBase {

    private static final int MAX_APPS = 10_000;

    private final PolicyChangeFeed feed;
    private final int queueLimit;

    public PolicyGrpcEndpoint(PolicyChangeFeed feed, @Value("${silk.controller.watch.queue-limit:10000}") int queueLimit) {
        this.feed = feed;
        this.queueLimit = queueLimit;
    }

    @Override
    public void watch(PolicyWatchRequest request, StreamObserver<PolicyWatchResponse> out) {
        try {
            CallerIdentity.requireAuthenticated("watch policies");
        } catch (LeaseRejection e) {
            out.onError(Status.UNAUTHENTICATED.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        if (request.getAppIdsCount() > MAX_APPS || request.getFromRevision() < 0) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("watch policies: at most " + MAX_APPS
                    + " app_ids and a from_revision of 0 or more").asRuntimeException());
            return;
        }
        new Stream((ServerCallStreamObserver<PolicyWatchResponse>) out, Set.copyOf(request.getAppIdsList()),
                request.getFromRevision()).start();
    }

    /** One Watch call. */
    private final class Stream implements PolicyChangeFeed.Subscriber {
        private final Set<String> apps;
        private final StreamOutbox<PolicyWatchResponse> outbox;
        private volatile long position;
        /** Set once a snapshot or a backlog was queued: then no "you are current" message is needed. */
        private volatile boolean caughtUpSent;

        Stream(ServerCallStreamObserver<PolicyWatchResponse> out, Set<String> apps, long from) {
            this.apps = apps;
            this.position = from;
            this.outbox = new StreamOutbox<>(out, queueLimit, from, PolicyWatchResponse::getRevision, () -> feed.unsubscribe(this));
        }

        void start() {
            feed.subscribe(apps, position, this);
            if (!caughtUpSent) {
                outbox.send(PolicyWatchResponse.newBuilder().setRevision(Math.max(position, feed.revision())).build());
            }
            outbox.drain();
        }

        @Override
        public void reset(List<PolicyEvent> current, long revision) {
            PolicyWatchResponse.Builder b = PolicyWatchResponse.newBuilder().setReset(true).setRevision(revision);
            for (PolicyEvent e : current) {
                if (e.c2c() != null) {
                    b.addPolicies(e.c2c());
                } else {
                    b.addEgressPolicies(e.egress());
                }
            }
            position = revision;
            caughtUpSent = true;
            outbox.send(b.build());
        }

        @Override
        public void events(List<PolicyEvent> events) {
            PolicyWatchResponse.Builder b = PolicyWatchResponse.newBuilder();
            long last = position;
            for (PolicyEvent e : events) {
                if (e.revision() > last) {
                    b.addChanges(e.toChange());
                    last = e.revision();
                }
            }
            if (b.getChangesCount() > 0) {
                position = last;
                caughtUpSent = true;
                outbox.send(b.setRevision(last).build());
            }
        }
    }
}
