package io.silk.controller.grpc;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.silk.controller.feed.NotReady;
import io.silk.values.BadValue;
import io.silk.values.Quote;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.grpc.server.exception.GrpcExceptionHandler;
import org.springframework.stereotype.Component;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;

/**
 * The one place that turns what a call threw into its gRPC status, for every service of the
 * controller: refusals keep their message, bad input is INVALID_ARGUMENT, a replica that cannot
 * serve yet and a database outage are UNAVAILABLE (retry), anything else INTERNAL and logged.
 * Messages stay small: input in them is quoted shortened where it was made.
 */
@Component
public class StatusMapping implements GrpcExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(StatusMapping.class);
    private static final long OUTAGE_LOG_INTERVAL_NANOS = 10_000_000_000L;

    private final AtomicLong lastOutageLog = new AtomicLong(System.nanoTime() - OUTAGE_LOG_INTERVAL_NANOS - 1);

    @Override
    public StatusException handleException(Throwable e) {
        return statusOf(e).asException();
    }

    public Status statusOf(Throwable e) {
        return switch (e) {
            case StatusRuntimeException s -> s.getStatus();
            case StatusException s -> s.getStatus();
            case Refusal r -> (switch (r.reason()) {
                case INVALID -> Status.INVALID_ARGUMENT;
                case MISMATCH -> Status.FAILED_PRECONDITION;
                case EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
                case FORBIDDEN -> Status.PERMISSION_DENIED;
                case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
                case FENCED -> Status.UNAVAILABLE;
            }).withDescription(r.getMessage());
            case BadValue b -> Status.INVALID_ARGUMENT.withDescription(b.getMessage());
            case NotReady n -> Status.UNAVAILABLE.withDescription(n.getMessage());
            case CannotCreateTransactionException x -> databaseUnavailable(x);
            case DataAccessResourceFailureException x -> databaseUnavailable(x);
            case TransientDataAccessException x -> databaseUnavailable(x);
            case TransactionSystemException x -> databaseUnavailable(x);
            case DataAccessException x when schemaMissing(x) || readOnly(x) -> databaseUnavailable(x);
            default -> {
                log.atError().setMessage("call failed").setCause(e).log();
                yield Status.INTERNAL.withDescription("internal error: " + Quote.shortened(String.valueOf(e.getMessage())));
            }
        };
    }

    private Status databaseUnavailable(RuntimeException e) {
        String cause = rootMessage(e);
        long now = System.nanoTime();
        long last = lastOutageLog.get();
        if (now - last > OUTAGE_LOG_INTERVAL_NANOS && lastOutageLog.compareAndSet(last, now)) {
            log.atWarn().setMessage("database unavailable, callers told to retry").addKeyValue("error", cause).log();
        }
        return Status.UNAVAILABLE.withDescription("database unavailable; retry with backoff"
                + (cause == null ? "" : ": " + Quote.shortened(cause)));
    }

    /**
     * The database answers without silk's tables or functions: it was lost and an empty one took
     * its place, and the replica's feeds are setting it up (within a second or so). Not a bug of
     * the call: the caller retries.
     */
    private static boolean schemaMissing(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return switch (sql.getSQLState()) {
                    // undefined table, function, schema, column (a database half-way through its migrations)
                    case "42P01", "42883", "3F000", "42703" -> true;
                    default -> false;
                };
            }
        }
        return false;
    }

    /**
     * The connection reached a server that is (now) a read-only replica: a switchover or failover
     * demoted it under the pool. The next connection goes to the new primary (targetServerType).
     */
    private static boolean readOnly(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return "25006".equals(sql.getSQLState()); // read_only_sql_transaction
            }
        }
        return false;
    }

    /** The innermost message there is (Spring's wrappers often carry none of their own). */
    static String rootMessage(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
            if (t instanceof SQLException) {
                break;
            }
        }
        return message;
    }
}
