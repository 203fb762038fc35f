package io.silk.policy.tag;

import io.silk.policy.web.ApiError;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Every app named in a policy gets a 16-bit tag (its VXLAN-GBP group) the first time it appears,
 * the lowest free one; the tag is freed when no policy names the app any more.
 */
@Component
public class AppTags {

    private static final Logger log = LoggerFactory.getLogger(AppTags.class);

    private final TagRepository tags;
    private final TransactionTemplate tx;

    public AppTags(TagRepository tags, TransactionTemplate tx) {
        this.tags = tags;
        this.tx = tx;
    }

    /** Within the caller's transaction. A unique violation means another request tagged the app first: retry. */
    public void ensure(String app) {
        if (tags.tagOf(app).isPresent()) {
            return;
        }
        tagNew(app);
    }

    /**
     * Starts a policy write in the caller's transaction: gives it its xid and locks the tags of
     * the apps that have one. Returns those apps; tag the others with {@link #tagNew}.
     */
    public Set<String> beginWrite(Collection<String> apps) {
        return new HashSet<>(tags.beginWriteLockingTagged(apps));
    }

    /** Within the caller's transaction, for an app without a tag. A unique violation means another request tagged it first: retry. */
    public void tagNew(String app) {
        tags.tagWithLowestFree(app).orElseThrow(() -> new ApiError(HttpStatus.INSUFFICIENT_STORAGE,
                "all 65535 tags are in use: no new app can be named in a policy"));
    }

    /** After the deleting transaction committed: frees the tags of apps no policy names now. */
    public void releaseUnused(Collection<String> apps) {
        if (apps.isEmpty()) {
            return;
        }
        try {
            freed(tx.execute(status -> tags.releaseGroupsIfUnused(apps)));
        } catch (DataIntegrityViolationException raced) {
            // A request named one of the apps meanwhile: free the others one by one.
            for (String app : apps) {
                try {
                    freed(tx.execute(status -> tags.releaseGroupsIfUnused(List.of(app))));
                } catch (DataIntegrityViolationException stillUsed) {
                    log.debug("tag of {} still in use", app);
                }
            }
        }
    }

    private static void freed(List<TagRepository.AppGroup> groups) {
        groups.forEach(g -> log.info("tag freed app={} tag={}", g.id(), g.tag()));
    }

    public List<TagRepository.AppGroup> all() {
        return tags.all();
    }
}
