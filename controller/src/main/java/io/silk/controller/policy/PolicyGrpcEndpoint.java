package io.silk.controller.policy;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.silk.controller.feed.ChangeFeed;
import io.silk.controller.feed.EventLogProperties;
import io.silk.controller.feed.WatchSession;
import io.silk.controller.grpc.Refusal;
import io.silk.controller.identity.CallerIdentity;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import java.util.Set;
import org.springframework.stereotype.Component;

/** The silk.v1 PolicyService: each cell watches the policies of the apps it hosts. */
@Component
public class PolicyGrpcEndpoint extends PolicyServiceGrpc.PolicyServiceImplBase {

    private static final int MAX_APPS = 10_000;

    private final ChangeFeed<PolicyEvent.Key, PolicyEvent> feed;
    private final PolicyWatchMessages messages = new PolicyWatchMessages();
    private final int queueLimit;

    public PolicyGrpcEndpoint(ChangeFeed<PolicyEvent.Key, PolicyEvent> feed, EventLogProperties properties) {
        this.feed = feed;
        this.queueLimit = properties.watchQueueLimit();
    }

    @Override
    public void watch(PolicyWatchRequest request, StreamObserver<PolicyWatchResponse> out) {
        CallerIdentity.requireAuthenticated("watch policies");
        if (request.getAppIdsCount() > MAX_APPS || request.getSpaceIdsCount() > MAX_APPS || request.getFromRevision() < 0) {
            throw Refusal.invalid("watch policies: at most " + MAX_APPS + " app_ids, as many space_ids, and a from_revision of 0 or more");
        }
        Set<String> apps = Set.copyOf(request.getAppIdsList());
        Set<String> spaces = Set.copyOf(request.getSpaceIdsList());
        new WatchSession<>((ServerCallStreamObserver<PolicyWatchResponse>) out, feed, e -> e.concerns(apps, spaces), messages,
                queueLimit, request.getFromRevision()).start(request.getDatabaseId());
    }
}
