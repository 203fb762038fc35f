package io.silk.policy.policy;

import java.util.Collection;
import java.util.List;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** Reading policies, as native SQL. Writes go through {@link io.silk.policy.log.PolicyLogWriter}. */
public interface PolicyRepository extends Repository<PolicyRecord, Long> {

    String COLUMNS = "id, source_id, destination_id, protocol, start_port, end_port";

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
