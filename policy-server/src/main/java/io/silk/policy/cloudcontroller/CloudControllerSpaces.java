package io.silk.policy.cloudcontroller;

import io.silk.policy.policy.DeveloperSpaces;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Who develops where, asked of the Cloud Controller on every call (no cache: a role taken away
 * counts at once, as in cf-networking): the apps' spaces ({@code GET /v3/apps?guids=…}), then the
 * user's space-developer roles in those spaces ({@code GET
 * /v3/roles?types=space_developer&user_guids=…&space_guids=…}), with the policy server's client
 * token (the client needs {@code cloud_controller.admin_read_only}).
 */
public final class CloudControllerSpaces implements DeveloperSpaces {

    private final CloudControllerClient cc;

    public CloudControllerSpaces(CloudControllerClient cc) {
        this.cc = cc;
    }

    @Override
    public boolean restricts() {
        return true;
    }

    @Override
    public Set<String> appsDevelopedBy(String user, Collection<String> apps) {
        if (apps.isEmpty()) {
            return Set.of();
        }
        Map<String, String> spaces = cc.appSpaces(apps);
        Set<String> developed = spaces.isEmpty() ? Set.of() : cc.developerSpaces(user, new HashSet<>(spaces.values()));
        Set<String> out = new HashSet<>();
        spaces.forEach((app, space) -> {
            if (developed.contains(space)) {
                out.add(app);
            }
        });
        return out;
    }
}
