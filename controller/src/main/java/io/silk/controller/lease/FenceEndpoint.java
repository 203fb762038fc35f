package io.silk.controller.lease;

import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.stereotype.Component;

/**
 * The operator's handle on the {@link AllocationFence}, on the management port (127.0.0.1 by
 * default): {@code GET /actuator/fence} the fence as it stands, {@code DELETE} ends it now (every
 * cell has renewed, or the operator accepts the risk; 409 while a restored database is still being
 * set up, since its fence has not started yet), {@code POST} with {@code {"reason": "..."}}
 * starts it for the window (after restoring a backup into the same database, say). The fence is
 * in the database: any replica's endpoint acts for all.
 */
@Component
@Endpoint(id = "fence")
public class FenceEndpoint {

    private final AllocationFence fence;

    public FenceEndpoint(AllocationFence fence) {
        this.fence = fence;
    }

    @ReadOperation
    public AllocationFence.State state() {
        return fence.state();
    }

    @WriteOperation
    public AllocationFence.State start(@Nullable String reason) {
        return fence.startByOperator(reason);
    }

    /** 409 with {@code {"error": ...}} while a restored database is still being set up (its fence has not started). */
    @DeleteOperation
    public WebEndpointResponse<Object> end() {
        try {
            return new WebEndpointResponse<>(fence.endByOperator());
        } catch (AllocationFence.NotSetUp e) {
            return new WebEndpointResponse<>(Map.of("error", "end the allocation fence: " + e.getMessage()), 409);
        }
    }
}
