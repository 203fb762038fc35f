package io.silk.load.grpc;

import com.typesafe.scalalogging.Logger;
import io.gatling.commons.stats.KO$;
import io.gatling.commons.stats.OK$;
import io.gatling.commons.stats.Status;
import io.gatling.core.action.Action;
import io.gatling.core.session.Session;
import io.gatling.core.stats.StatsEngine;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * A Gatling action that makes one gRPC call through grpc-java, without blocking Gatling's
 * threads, and reports it to Gatling's stats engine like an HTTP request: it shows in the reports
 * and the assertions under its name, OK or KO with the status code. A call that completes with a
 * Session (values saved from the response) continues with that session.
 */
final class GrpcAction implements Action {

    private final String name;
    private final java.util.function.BiFunction<io.gatling.javaapi.core.Session, Timings, CompletableFuture<?>> call;
    private final StatsEngine stats;
    private final Action next;
    private final Logger logger = Logger.apply(LoggerFactory.getLogger(GrpcAction.class));

    GrpcAction(String name, java.util.function.BiFunction<io.gatling.javaapi.core.Session, Timings, CompletableFuture<?>> call,
            StatsEngine stats, Action next) {
        this.name = name;
        this.call = call;
        this.stats = stats;
        this.next = next;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Logger logger() {
        return logger;
    }

    @Override
    public void com$typesafe$scalalogging$StrictLogging$_setter_$logger_$eq(Logger l) {
        // The logger is set in the constructor.
    }

    @Override
    public void execute(Session session) {
        long start = System.currentTimeMillis();
        CompletableFuture<?> future;
        try {
            future = call.apply(new io.gatling.javaapi.core.Session(session), timings(session));
        } catch (RuntimeException e) {
            future = CompletableFuture.failedFuture(e);
        }
        future.whenComplete((ok, error) -> {
            long end = System.currentTimeMillis();
            Status status = error == null ? OK$.MODULE$ : KO$.MODULE$;
            Option<String> code = Option.apply(error == null ? "OK" : code(error));
            Option<String> message = error == null ? Option.empty() : Option.apply(String.valueOf(rootMessage(error)));
            stats.logResponse(session.scenario(), session.groups(), name, start, end, status, code, message);
            Session after = ok instanceof io.gatling.javaapi.core.Session updated ? updated.asScala() : session;
            next.$bang(error == null ? after : session.markAsFailed());
        });
    }

    /** Lets a call report more timings later, e.g. each message of a stream, in this user's name. */
    private Timings timings(Session session) {
        return (what, start, end, error) -> stats.logResponse(session.scenario(), session.groups(), what, start, end,
                error == null ? OK$.MODULE$ : KO$.MODULE$, Option.apply(error == null ? "OK" : "KO"), Option.apply(error));
    }

    private static String code(Throwable t) {
        Throwable root = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return root instanceof StatusRuntimeException s ? s.getStatus().getCode().name() : Code.UNKNOWN.name();
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return root.getMessage();
    }
}
