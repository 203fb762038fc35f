package io.silk.controller.policy;

import io.silk.controller.feed.WatchSession;
import io.silk.proto.v1.PolicyWatchResponse;
import java.util.List;

/** Policy Watch messages: a cell's snapshot holds only the policies of its apps, so none is shared. */
final class PolicyWatchMessages implements WatchSession.Messages<PolicyEvent, PolicyWatchResponse> {

    @Override
    public PolicyWatchResponse reset(List<PolicyEvent> current, long revision, String databaseId) {
        PolicyWatchResponse.Builder b = PolicyWatchResponse.newBuilder().setReset(true).setRevision(revision)
                .setDatabaseId(databaseId);
        for (PolicyEvent e : current) {
            if (e.c2c() != null) {
                b.addPolicies(e.c2c());
            } else {
                b.addEgressPolicies(e.egress());
            }
        }
        return b.build();
    }

    @Override
    public PolicyWatchResponse changes(List<PolicyEvent> events, long revision, String databaseId) {
        PolicyWatchResponse.Builder b = PolicyWatchResponse.newBuilder().setRevision(revision).setDatabaseId(databaseId);
        for (PolicyEvent e : events) {
            b.addChanges(e.toChange());
        }
        return b.build();
    }

    @Override
    public PolicyWatchResponse current(long revision, String databaseId) {
        return PolicyWatchResponse.newBuilder().setRevision(revision).setDatabaseId(databaseId).build();
    }

    @Override
    public long revisionOf(PolicyWatchResponse message) {
        return message.getRevision();
    }
}
