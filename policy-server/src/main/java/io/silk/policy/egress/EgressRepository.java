package io.silk.policy.egress;

import java.util.Collection;
import java.util.List;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** Reading egress policies, as native SQL. Writes go through {@link io.silk.policy.log.PolicyLogWriter}. */
public interface EgressRepository extends Repository<EgressRepository.EgressRecord, Long> {

    @Table("egress_policy")
    record EgressRecord(@Id Long id, String sourceId, String protocol, String startIp, String endIp, Integer startPort,
            Integer endPort, Integer icmpType, Integer icmpCode) {
        EgressRule rule() {
            return new EgressRule(sourceId, protocol, startIp, endIp, startPort, endPort, icmpType, icmpCode);
        }
    }

    String COLUMNS = "id, source_id, protocol, host(start_ip) AS start_ip, host(end_ip) AS end_ip, start_port, end_port,"
            + " icmp_type, icmp_code";

    @Query("SELECT " + COLUMNS + " FROM egress_policy ORDER BY id")
    List<EgressRecord> findAll();

    @Query("SELECT " + COLUMNS + " FROM egress_policy WHERE source_id IN (:ids) ORDER BY id")
    List<EgressRecord> findBySources(@Param("ids") Collection<String> ids);
}
