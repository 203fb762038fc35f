package io.silk.policy.policy;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** Policies, app groups and their tags, as native SQL; each change writes its event in the same statement. */
public interface PolicyRepository extends Repository<PolicyRecord, Long> {

    String COLUMNS = "id, source_id, destination_id, protocol, start_port, end_port, revision";

    /** What the controller streams to cells: the policy with the tags of both apps. */
    String DETAIL = "jsonb_build_object('destination_id', destination_id, 'protocol', protocol, 'start_port', start_port,"
            + " 'end_port', end_port, 'source_tag', (SELECT tag FROM app_group WHERE id = source_id),"
            + " 'destination_tag', (SELECT tag FROM app_group WHERE id = destination_id))";

    /** Gives the transaction its xid before a revision is drawn (see the controller's LeaseChangeFeed). */
    @Query("SELECT pg_current_xact_id()::text")
    String beginWrite();

    @Query("SELECT count(*) FROM policy WHERE source_id = :id")
    long countBySource(@Param("id") String id);

    /** Creates the policy unless it exists; returns its revision when it was created. */
    @Query("WITH p AS (INSERT INTO policy (source_id, destination_id, protocol, start_port, end_port, revision)"
            + "   VALUES (:source, :destination, :protocol, :start, :end, nextval('policy_revision'))"
            + "   ON CONFLICT ON CONSTRAINT policy_unique DO NOTHING RETURNING *)"
            + " INSERT INTO policy_event (revision, kind, policy_type, policy_id, source_id, detail)"
            + " SELECT revision, 'CREATED', 'c2c', id, source_id, " + DETAIL + " FROM p"
            + " RETURNING revision")
    Optional<Long> create(@Param("source") String source, @Param("destination") String destination,
            @Param("protocol") String protocol, @Param("start") int start, @Param("end") int end);

    /** Deletes the policy if it exists; returns the event's revision when it did. */
    @Query("WITH p AS (DELETE FROM policy WHERE source_id = :source AND destination_id = :destination"
            + "   AND protocol = :protocol AND start_port = :start AND end_port = :end RETURNING *)"
            + " INSERT INTO policy_event (revision, kind, policy_type, policy_id, source_id, detail)"
            + " SELECT nextval('policy_revision'), 'DELETED', 'c2c', id, source_id, " + DETAIL + " FROM p"
            + " RETURNING revision")
    Optional<Long> delete(@Param("source") String source, @Param("destination") String destination,
            @Param("protocol") String protocol, @Param("start") int start, @Param("end") int end);

    @Query("SELECT " + COLUMNS + " FROM policy ORDER BY id")
    List<PolicyRecord> findAll();

    /** Policies whose source or destination is one of the apps (the cf CLI's filter). */
    @Query("SELECT " + COLUMNS + " FROM policy WHERE source_id IN (:ids)"
            + " UNION SELECT " + COLUMNS + " FROM policy WHERE destination_id IN (:ids) ORDER BY id")
    List<PolicyRecord> findByAnyOf(@Param("ids") Collection<String> ids);

    @Query("SELECT " + COLUMNS + " FROM policy WHERE source_id IN (:ids) ORDER BY id")
    List<PolicyRecord> findBySources(@Param("ids") Collection<String> ids);

    @Query("SELECT " + COLUMNS + " FROM policy WHERE destination_id IN (:ids) ORDER BY id")
    List<PolicyRecord> findByDestinations(@Param("ids") Collection<String> ids);

    @Query("SELECT " + COLUMNS + " FROM policy WHERE source_id IN (:sources) AND destination_id IN (:destinations) ORDER BY id")
    List<PolicyRecord> findBySourcesAndDestinations(@Param("sources") Collection<String> sources,
            @Param("destinations") Collection<String> destinations);

}
