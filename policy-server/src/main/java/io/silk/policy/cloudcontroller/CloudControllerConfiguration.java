package io.silk.policy.cloudcontroller;

import io.micrometer.core.instrument.MeterRegistry;
import io.silk.policy.policy.DeveloperSpaces;
import io.silk.policy.securitygroup.SecurityGroupStore;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * With {@code silk.policy-server.cloud-controller.api} set: one client of the Cloud Controller, the
 * security-group syncer (unless {@code sync-security-groups=false}) and the space-developer rule for
 * network.write callers. Without it: none of them, and nobody is limited to their spaces.
 */
@Configuration(proxyBeanMethods = false)
public class CloudControllerConfiguration {

    private static final String PREFIX = "silk.policy-server.cloud-controller.";

    @Bean
    @Conditional(Configured.class)
    CloudControllerClient cloudControllerClient(CloudControllerProperties properties) {
        return CloudControllerClient.create(properties);
    }

    @Bean
    DeveloperSpaces developerSpaces(ObjectProvider<CloudControllerClient> client) {
        CloudControllerClient cc = client.getIfAvailable();
        return cc == null ? DeveloperSpaces.UNRESTRICTED : new CloudControllerSpaces(cc);
    }

    @Bean(initMethod = "start", destroyMethod = "close")
    @Conditional(Syncing.class)
    SecurityGroupSyncer securityGroupSyncer(CloudControllerClient client, SecurityGroupStore store,
            CloudControllerProperties properties, MeterRegistry metrics) {
        return new SecurityGroupSyncer(client, store, properties.pollInterval(), metrics);
    }

    /** A Cloud Controller is configured. */
    static final class Configured implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            String api = context.getEnvironment().getProperty(PREFIX + "api");
            return api != null && !api.isBlank();
        }
    }

    /** ... and its security groups are synced. */
    static final class Syncing implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return new Configured().matches(context, metadata)
                    && !"false".equalsIgnoreCase(context.getEnvironment().getProperty(PREFIX + "sync-security-groups", "true").strip());
        }
    }
}
