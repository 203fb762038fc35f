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
            var c = e.change();
            switch (c.getPolicyCase()) {
                case C2C -> b.addPolicies(c.getC2C());
                case EGRESS -> b.addEgressPolicies(c.getEgress());
                case SECURITY_GROUP -> b.addSecurityGroups(c.getSecurityGroup());
                case SECURITY_GROUP_BINDING -> b.addSecurityGroupBindings(c.getSecurityGroupBinding());
                case POLICY_NOT_SET -> { }
            }
        }
        return b.build();
    }

    @Override
    public PolicyWatchResponse changes(List<PolicyEvent> events, long revision, String databaseId) {
        PolicyWatchResponse.Builder b = PolicyWatchResponse.newBuilder().setRevision(revision).setDatabaseId(databaseId);
        for (PolicyEvent e : events) {
            b.addChanges(e.change());
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
