package io.silk.policy.tag;

import java.util.Collection;
import java.util.List;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** Apps named in policies and their 16-bit tags (given out by the write functions, app_tag in V5__policy_writes.sql). */
public interface TagRepository extends Repository<TagRepository.AppGroup, String> {

    @Table("app_group")
    record AppGroup(@Id String id, int tag, String type) {}

    /** Frees the tags of those apps that nothing names any more, in one statement; returns the groups freed. */
    @Query("WITH g AS (DELETE FROM app_group a WHERE a.id IN (:ids)"
            + "   AND NOT EXISTS (SELECT 1 FROM policy WHERE source_id = a.id)"
            + "   AND NOT EXISTS (SELECT 1 FROM policy WHERE destination_id = a.id)"
            + "   AND NOT EXISTS (SELECT 1 FROM egress_policy WHERE source_id = a.id) RETURNING a.id, a.tag, a.type),"
            + " f AS (INSERT INTO free_tag (tag) SELECT tag FROM g)"
            + " SELECT id, tag, type FROM g")
    List<AppGroup> releaseGroupsIfUnused(@Param("ids") Collection<String> ids);

    @Query("SELECT id, tag, type FROM app_group ORDER BY tag")
    List<AppGroup> all();
}
