package io.silk.load;

import io.gatling.commons.stats.KO$;
import io.gatling.commons.stats.OK$;
import io.gatling.core.stats.StatsEngine;
import io.gatling.javaapi.core.ActionBuilder;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.PolicyServiceGrpc;
import io.silk.proto.v1.PolicyWatchRequest;
import io.silk.proto.v1.PolicyWatchResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import scala.Option;

/**
 * Measures how long a policy write takes to reach the cells it concerns: the simulation says what
 * it is about to send ({@link #expect}), each simulated cell's watch stream reports what it
 * receives, and every delivery is logged to Gatling's stats engine as a request named
 * {@value #REQUEST} timed from the send to the receipt, so it shows in the report and assertions.
 */
final class PolicyPropagation {

    static final String REQUEST = "propagation";
    static final String WATCH = "watch (first message)";

    /** A policy write on its way: when it was sent and how many cells have still to receive it. */
    private record Expectation(long sentAt, AtomicInteger remaining) {}

    private final Map<String, Expectation> pending = new ConcurrentHashMap<>();
    private final AtomicBoolean missingReported = new AtomicBoolean();
    private volatile StatsEngine stats;
    private volatile String scenario = "cells";
    private volatile scala.collection.immutable.List<String> groups;

    /** A step that hands Gatling's stats engine to this tracker and passes straight on to the next step. */
    ActionBuilder captureStats() {
        return () -> (io.gatling.core.action.builder.ActionBuilder) (ctx, next) -> {
            stats = ctx.coreComponents().statsEngine();
            return next;
        };
    }

    static String key(String kind, String source, String destination, String protocol, int start, int end) {
        return kind + " " + source + ">" + destination + " " + protocol + " " + start + "-" + end;
    }

    /** Before the REST call is sent: {@code cells} cells must see this change. */
    void expect(String key, int cells) {
        pending.put(key, new Expectation(System.currentTimeMillis(), new AtomicInteger(cells)));
    }

    /** The write failed: no cell will see it. */
    void cancel(String key) {
        pending.remove(key);
    }

    int pending() {
        return pending.size();
    }

    private void delivered(String key, long at) {
        Expectation e = pending.get(key);
        if (e == null) {
            return; // not one of ours (pre-filled, or a cell also hosting another app of the policy)
        }
        log(REQUEST, e.sentAt, at, null);
        if (e.remaining.decrementAndGet() == 0) {
            pending.remove(key, e);
        }
    }

    /** Logs an entry to Gatling's stats engine: OK, or KO with the error. */
    void log(String name, long start, long end, String error) {
        StatsEngine s = stats;
        if (s != null && groups != null) {
            s.logResponse(scenario, groups, name, start, end, error == null ? OK$.MODULE$ : KO$.MODULE$,
                    Option.apply(error == null ? "OK" : "KO"), Option.apply(error));
        }
    }

    /** Once, at the end: every delivery still missing is a failed propagation in the report. */
    void reportMissing() {
        if (!missingReported.compareAndSet(false, true)) {
            return;
        }
        long now = System.currentTimeMillis();
        pending.forEach((key, e) -> {
            for (int i = 0; i < e.remaining.get(); i++) {
                log(REQUEST, e.sentAt, now, "never received: " + key);
            }
        });
    }

    /** The key of a security group's version: its name (the simulations put a version in it). */
    static String groupKey(String name) {
        return "group " + name;
    }

    static String bindingKey(String kind, String group, String space, String lifecycle) {
        return kind + " binding " + group + " " + space + " " + lifecycle;
    }

    /** One simulated cell: a Watch stream for the apps and spaces it hosts, until {@link #close}. */
    final class Cell {
        private final List<String> apps;
        private final List<String> spaces;
        private final ManagedChannel channel;
        private volatile ClientCallStreamObserver<PolicyWatchRequest> call;
        private volatile boolean closing;

        Cell(List<String> apps, ManagedChannel channel) {
            this(apps, List.of(), channel);
        }

        Cell(List<String> apps, List<String> spaces, ManagedChannel channel) {
            this.apps = apps;
            this.spaces = spaces;
            this.channel = channel;
        }

        void start(io.gatling.javaapi.core.Session session) {
            scenario = session.scenario();
            groups = session.asScala().groups();
            long start = System.currentTimeMillis();
            PolicyServiceGrpc.newStub(channel).watch(PolicyWatchRequest.newBuilder().addAllAppIds(apps).addAllSpaceIds(spaces).build(),
                    new ClientResponseObserver<PolicyWatchRequest, PolicyWatchResponse>() {
                        private boolean first = true;

                        @Override
                        public void beforeStart(ClientCallStreamObserver<PolicyWatchRequest> requests) {
                            call = requests;
                        }

                        @Override
                        public void onNext(PolicyWatchResponse r) {
                            long now = System.currentTimeMillis();
                            if (first) {
                                first = false;
                                log(WATCH, start, now, null);
                            }
                            for (var change : r.getChangesList()) {
                                if (change.hasC2C()) {
                                    C2CPolicy p = change.getC2C();
                                    delivered(key(change.getKind().name(), p.getSourceId(), p.getDestinationId(),
                                            p.getProtocol(), p.getStartPort(), p.getEndPort()), now);
                                } else if (change.hasSecurityGroup()) {
                                    delivered(groupKey(change.getSecurityGroup().getName()), now);
                                } else if (change.hasSecurityGroupBinding()) {
                                    var b = change.getSecurityGroupBinding();
                                    delivered(bindingKey(change.getKind().name(), b.getSecurityGroupGuid(), b.getSpaceId(),
                                            b.getLifecycle()), now);
                                }
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            if (!closing) {
                                log(WATCH, start, System.currentTimeMillis(), "watch of " + apps + " ended: " + t);
                            }
                        }

                        @Override
                        public void onCompleted() {
                            if (!closing) {
                                log(WATCH, start, System.currentTimeMillis(), "watch of " + apps + " completed by the controller");
                            }
                        }
                    });
        }

        void close() {
            closing = true;
            if (call != null) {
                call.cancel("load test over", null);
            }
        }
    }
}
