package io.silk.policy.auth;

import io.silk.policy.web.ApiError;
import java.util.List;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;

/** The OAuth2 scopes of the caller, and cf-networking's checks on them. */
public final class Scopes {

    public static final String ADMIN = "network.admin";
    public static final String WRITE = "network.write";

    private Scopes() {}

    public static List<String> current() {
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        if (auth == null) {
            return List.of();
        }
        return auth.getAuthorities().stream().map(GrantedAuthority::getAuthority)
                .filter(a -> a.startsWith("SCOPE_")).map(a -> a.substring("SCOPE_".length())).toList();
    }

    /** The caller: the token's subject ({@code sub}; for a UAA user, the user's guid). */
    public static String subject() {
        Authentication auth = SecurityContextHolder.getContext().getAuthentication();
        return auth == null ? "" : auth.getName();
    }

    public static boolean isAdmin() {
        return current().contains(ADMIN);
    }

    /** Throws 403 in cf-networking's words unless the caller holds one of the scopes. */
    public static void require(String... allowed) {
        List<String> have = current();
        for (String a : allowed) {
            if (have.contains(a)) {
                return;
            }
        }
        throw ApiError.forbidden("provided scopes " + bracket(have) + " do not include allowed scopes " + bracket(List.of(allowed)));
    }

    private static String bracket(List<String> scopes) {
        return "[" + String.join(" ", scopes) + "]";
    }
}
