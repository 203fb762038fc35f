package io.silk.policy;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The silk policy server: cf-networking's external policy API v1, on the shared PostgreSQL. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class PolicyServerApplication {
    public static void main(String[] args) {
        SpringApplication.run(PolicyServerApplication.class, args);
    }
}
