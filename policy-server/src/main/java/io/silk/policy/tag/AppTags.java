package io.silk.policy.tag;

import java.util.Collection;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Every app named in a policy gets a 16-bit tag (its VXLAN-GBP group) the first time it appears,
 * the lowest free one (the write functions give it, app_tag in V5__policy_writes.sql); the tag is
 * freed here when no policy names the app any more.
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
                    log.atDebug().setMessage("tag still in use").addKeyValue("app", app).log();
                }
            }
        }
    }

    private static void freed(List<TagRepository.AppGroup> groups) {
        groups.forEach(g -> log.atDebug().setMessage("tag freed").addKeyValue("app", g.id()).addKeyValue("tag", g.tag()).log());
    }

    public List<TagRepository.AppGroup> all() {
        return tags.all();
    }
}
