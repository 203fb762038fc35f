package io.silk.load.grpc;

import io.gatling.javaapi.core.ActionBuilder;
import io.gatling.javaapi.core.Session;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Function;

/** The DSL: {@code exec(Grpc.call("acquire", session -> stub.acquire(...)))}. */
public final class Grpc {

    private Grpc() {}

    /** A call whose future completes when the RPC does (for async stubs, see {@link #unary}). */
    public static ActionBuilder call(String name, Function<Session, CompletableFuture<?>> call) {
        return call(name, (session, timings) -> call.apply(session));
    }

    /** The same, for calls that report more timings later (a stream's messages) through {@link Timings}. */
    public static ActionBuilder call(String name, java.util.function.BiFunction<Session, Timings, CompletableFuture<?>> call) {
        return () -> (io.gatling.core.action.builder.ActionBuilder) (ctx, next) ->
                new GrpcAction(name, call, ctx.coreComponents().statsEngine(), next);
    }

    /** Adapts an async unary stub call: {@code (request, observer) -> stub.acquire(request, observer)}. */
    public static <Q, R> Function<Session, CompletableFuture<?>> unary(Function<Session, Q> request, BiConsumer<Q, StreamObserver<R>> rpc) {
        return unary(request, rpc, (session, response) -> session);
    }

    /** The same, saving what the response says into the session for later calls. */
    public static <Q, R> Function<Session, CompletableFuture<?>> unary(Function<Session, Q> request, BiConsumer<Q, StreamObserver<R>> rpc,
            java.util.function.BiFunction<Session, R, Session> save) {
        return session -> {
            CompletableFuture<R> done = new CompletableFuture<>();
            rpc.accept(request.apply(session), new StreamObserver<>() {
                private R value;

                @Override
                public void onNext(R v) {
                    value = v;
                }

                @Override
                public void onError(Throwable t) {
                    done.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                    done.complete(value);
                }
            });
            return done.thenApply(response -> save.apply(session, response));
        };
    }
}
