package io.silk.daemon.policy.verdict;

import java.util.List;
import java.util.Optional;

/** What the enforcing backend knows that names a verdict's ends and explains it. */
public interface PolicyDirectory {

    /** The app of a container on this cell. */
    Optional<String> appOf(String containerIp);

    /** The app whose containers carry this tag, when a policy on this cell names it. */
    Optional<String> appOfTag(long tag);

    /** What the policies on this cell let {@code sourceApp} reach on {@code destinationApp}, e.g. "tcp/8080". */
    List<String> allowed(String sourceApp, String destinationApp);
}
