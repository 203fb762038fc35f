package io.silk.policy.policy;

import java.util.Collection;
import java.util.Set;

/**
 * cf's rule for network.write callers who are not network.admin: they may create, list and delete
 * only policies whose source and destination apps are in spaces where they are space developers.
 * Who develops where is the Cloud Controller's to say; without one, nobody is limited.
 */
public interface DeveloperSpaces {

    /** No Cloud Controller: network.write callers are limited by the per-source quota only. */
    DeveloperSpaces UNRESTRICTED = new DeveloperSpaces() {
        @Override
        public boolean restricts() {
            return false;
        }

        @Override
        public Set<String> appsDevelopedBy(String user, Collection<String> apps) {
            return Set.copyOf(apps);
        }
    };

    /** Whether network.write callers are limited to their spaces' apps. */
    boolean restricts();

    /**
     * Those of the apps that are in a space where the user is a space developer (apps the Cloud
     * Controller does not know are not). Throws when that cannot be told.
     */
    Set<String> appsDevelopedBy(String user, Collection<String> apps);
}
