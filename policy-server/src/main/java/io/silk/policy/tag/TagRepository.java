package io.silk.policy.tag;

import java.util.List;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.Repository;

/**
 * Apps named in policies and their 16-bit tags (VXLAN-GBP groups): given out by the write
 * functions (app_tag in V5__policy_writes.sql), lowest free first, and freed when no policy names
 * the app any more (PolicyLogWriter).
 */
public interface TagRepository extends Repository<TagRepository.AppGroup, String> {

    @Table("app_group")
    record AppGroup(@Id String id, int tag, String type) {}

    @Query("SELECT id, tag, type FROM app_group ORDER BY tag")
    List<AppGroup> all();
}
