package io.silk.policy.tag;

import io.silk.policy.web.ApiError;
import java.util.Collection;
import java.util.List;
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
        int tag = tags.takeFreeTag().orElseThrow(() -> new ApiError(HttpStatus.INSUFFICIENT_STORAGE,
                "all 65535 tags are in use: no new app can be named in a policy"));
        tags.insertGroup(app, tag);
    }

    /** After the deleting transaction committed: frees the tags of apps no policy names now. */
    public void releaseUnused(Collection<String> apps) {
        for (String app : apps) {
            try {
                tx.execute(status -> tags.releaseGroupIfUnused(app)).ifPresent(t -> log.info("tag freed app={} tag={}", app, t));
            } catch (DataIntegrityViolationException raced) {
                log.debug("tag of {} still in use", app);
            }
        }
    }

    public List<TagRepository.AppGroup> all() {
        return tags.all();
    }
}
