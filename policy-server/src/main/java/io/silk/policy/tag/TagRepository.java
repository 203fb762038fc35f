package io.silk.policy.tag;

import java.util.List;
import java.util.Optional;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.query.Modifying;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** Apps named in policies and their 16-bit tags. */
public interface TagRepository extends Repository<TagRepository.AppGroup, String> {

    @Table("app_group")
    record AppGroup(@Id String id, int tag, String type) {}

    /** The app's tag, locked against being freed until this transaction ends. */
    @Query("SELECT tag FROM app_group WHERE id = :id FOR KEY SHARE")
    Optional<Integer> tagOf(@Param("id") String id);

    /** The lowest free tag; SKIP LOCKED so concurrent writers never queue on one row. */
    @Query("DELETE FROM free_tag WHERE tag = (SELECT tag FROM free_tag ORDER BY tag LIMIT 1 FOR UPDATE SKIP LOCKED)"
            + " RETURNING tag")
    Optional<Integer> takeFreeTag();

    @Modifying
    @Query("INSERT INTO app_group (id, tag) VALUES (:id, :tag)")
    int insertGroup(@Param("id") String id, @Param("tag") int tag);

    /** Frees an app's tag when nothing names the app any more; returns the tag freed. */
    @Query("WITH g AS (DELETE FROM app_group WHERE id = :id"
            + "   AND NOT EXISTS (SELECT 1 FROM policy WHERE source_id = :id OR destination_id = :id)"
            + "   AND NOT EXISTS (SELECT 1 FROM egress_policy WHERE source_id = :id) RETURNING tag)"
            + " INSERT INTO free_tag (tag) SELECT tag FROM g RETURNING tag")
    Optional<Integer> releaseGroupIfUnused(@Param("id") String id);

    @Query("SELECT id, tag, type FROM app_group ORDER BY tag")
    List<AppGroup> all();
}
