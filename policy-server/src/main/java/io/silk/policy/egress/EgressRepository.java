package io.silk.policy.egress;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.query.Query;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.Repository;
import org.springframework.data.repository.query.Param;

/** Egress policies as native SQL; each change writes its event in the same statement. */
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

    String DETAIL = "jsonb_build_object('protocol', protocol, 'start_ip', host(start_ip), 'end_ip', host(end_ip),"
            + " 'start_port', start_port, 'end_port', end_port, 'icmp_type', icmp_type, 'icmp_code', icmp_code,"
            + " 'source_tag', (SELECT tag FROM app_group WHERE id = source_id))";

    String SAME = "source_id = :source AND protocol = :protocol AND start_ip = CAST(:startIp AS inet)"
            + " AND end_ip = CAST(:endIp AS inet) AND start_port IS NOT DISTINCT FROM CAST(:startPort AS integer)"
            + " AND end_port IS NOT DISTINCT FROM CAST(:endPort AS integer)"
            + " AND icmp_type IS NOT DISTINCT FROM CAST(:icmpType AS integer)"
            + " AND icmp_code IS NOT DISTINCT FROM CAST(:icmpCode AS integer)";

    @Query("WITH p AS (INSERT INTO egress_policy (source_id, protocol, start_ip, end_ip, start_port, end_port, icmp_type,"
            + "   icmp_code, revision) VALUES (:source, :protocol, CAST(:startIp AS inet), CAST(:endIp AS inet),"
            + "   CAST(:startPort AS integer), CAST(:endPort AS integer), CAST(:icmpType AS integer),"
            + "   CAST(:icmpCode AS integer), nextval('policy_revision'))"
            + "   ON CONFLICT ON CONSTRAINT egress_policy_unique DO NOTHING RETURNING *)"
            + " INSERT INTO policy_event (revision, kind, policy_type, policy_id, source_id, detail)"
            + " SELECT revision, 'CREATED', 'egress', id, source_id, " + DETAIL + " FROM p RETURNING revision")
    Optional<Long> create(@Param("source") String source, @Param("protocol") String protocol, @Param("startIp") String startIp,
            @Param("endIp") String endIp, @Param("startPort") Integer startPort, @Param("endPort") Integer endPort,
            @Param("icmpType") Integer icmpType, @Param("icmpCode") Integer icmpCode);

    @Query("WITH p AS (DELETE FROM egress_policy WHERE " + SAME + " RETURNING *)"
            + " INSERT INTO policy_event (revision, kind, policy_type, policy_id, source_id, detail)"
            + " SELECT nextval('policy_revision'), 'DELETED', 'egress', id, source_id, " + DETAIL + " FROM p RETURNING revision")
    Optional<Long> delete(@Param("source") String source, @Param("protocol") String protocol, @Param("startIp") String startIp,
            @Param("endIp") String endIp, @Param("startPort") Integer startPort, @Param("endPort") Integer endPort,
            @Param("icmpType") Integer icmpType, @Param("icmpCode") Integer icmpCode);

    @Query("SELECT " + COLUMNS + " FROM egress_policy ORDER BY id")
    List<EgressRecord> findAll();

    @Query("SELECT " + COLUMNS + " FROM egress_policy WHERE source_id IN (:ids) ORDER BY id")
    List<EgressRecord> findBySources(@Param("ids") Collection<String> ids);
}
