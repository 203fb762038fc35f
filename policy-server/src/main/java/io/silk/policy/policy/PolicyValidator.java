package io.silk.policy.policy;

import io.silk.policy.policy.PolicyJson.Policy;
import io.silk.policy.web.ApiError;
import java.util.List;

/** cf-networking's checks, in its order and with its messages. */
final class PolicyValidator {

    private static final String PREFIX = "mapper: validate policies: ";

    private PolicyValidator() {}

    static void validate(List<Policy> policies) {
        if (policies == null || policies.isEmpty()) {
            throw ApiError.badRequest(PREFIX + "missing policies");
        }
        for (Policy p : policies) {
            if (p == null || p.source() == null || blank(p.source().id())) {
                throw ApiError.badRequest(PREFIX + "missing source id");
            }
            var d = p.destination();
            if (d == null || blank(d.id())) {
                throw ApiError.badRequest(PREFIX + "missing destination id");
            }
            if (!"tcp".equals(d.protocol()) && !"udp".equals(d.protocol())) {
                throw ApiError.badRequest(PREFIX + "invalid destination protocol, specify either udp or tcp");
            }
            int start = d.ports() == null ? 0 : d.ports().start();
            int end = d.ports() == null ? 0 : d.ports().end();
            if (start > end) {
                throw ApiError.badRequest(PREFIX + "invalid port range " + start + "-" + end
                        + ", start must be less than or equal to end");
            }
            if (start < 0) {
                throw ApiError.badRequest(PREFIX + "invalid start port " + start + ", must be in range 1-65535");
            }
            if (start == 0) {
                throw ApiError.badRequest(PREFIX + "missing start port");
            }
            if (end > 65535) {
                throw ApiError.badRequest(PREFIX + "invalid end port " + end + ", must be in range 1-65535");
            }
            if (p.source().tag() != null || d.tag() != null) {
                throw ApiError.badRequest(PREFIX + "tags may not be specified");
            }
            if (p.source().id().length() > 255 || d.id().length() > 255) {
                throw ApiError.badRequest(PREFIX + "app ids are at most 255 characters");
            }
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
