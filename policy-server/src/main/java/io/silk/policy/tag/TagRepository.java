package io.silk.policy.tag;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.springframework.data.annotation.Id;
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

    /**
     * In one round trip: gives the transaction its xid, before any revision is drawn (see the
     * controller's LeaseChangeFeed; the lateral reference makes the xid come first), and returns
     * those of the apps that have a tag, locked against being freed until this transaction ends.
     */
    @Query("SELECT g.id FROM (SELECT pg_current_xact_id() AS xid) x,"
            + " LATERAL (SELECT id FROM app_group WHERE id IN (:ids) AND x.xid IS NOT NULL FOR KEY SHARE) g")
    List<String> beginWriteLockingTagged(@Param("ids") Collection<String> ids);

    /**
     * Tags the app with the lowest free tag, in one statement; SKIP LOCKED so concurrent writers
     * never queue on one row. Empty when no tag is free.
     */
    @Query("WITH t AS (DELETE FROM free_tag WHERE tag = (SELECT tag FROM free_tag ORDER BY tag LIMIT 1 FOR UPDATE SKIP LOCKED)"
            + "   RETURNING tag)"
            + " INSERT INTO app_group (id, tag) SELECT :id, tag FROM t RETURNING tag")
    Optional<Integer> tagWithLowestFree(@Param("id") String id);

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
