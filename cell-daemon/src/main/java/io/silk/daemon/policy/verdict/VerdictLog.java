package io.silk.daemon.policy.verdict;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.netlink.NflogPacket;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the packets the kernel logs to NFLOG (the nftables rules' deny and, optionally, allow
 * verdicts) into what an operator reads: a structured log line naming both apps and what is
 * missing (rate-limited), Prometheus counters of packets and bytes per app pair, and a stream of
 * recent verdicts for {@code silk flows}.
 */
public final class VerdictLog {

    private static final Logger log = LoggerFactory.getLogger("io.silk.daemon.policy.verdicts");
    static final int RECENT = 256;
    static final String PACKETS = "Packets the policy decided on, per app pair";
    static final String BYTES = "Bytes of the packets the policy decided on, per app pair";

    private final PolicyDirectory directory;
    private final MeterRegistry metrics;
    private final Clock clock;
    private final int linesPerSecond;
    private final Map<List<String>, Counter[]> counters = new ConcurrentHashMap<>();
    private final List<Consumer<Verdict>> listeners = new CopyOnWriteArrayList<>();
    // Guarded by this.
    private final ArrayDeque<Verdict> recent = new ArrayDeque<>();
    private long windowStart;
    private int linesInWindow;
    private long suppressed;

    public VerdictLog(PolicyDirectory directory, MeterRegistry metrics, int linesPerSecond, Clock clock) {
        this.directory = directory;
        this.metrics = metrics;
        this.linesPerSecond = linesPerSecond;
        this.clock = clock;
    }

    /** Names, counts, logs and publishes one logged packet; null when it is not one of silk's. */
    public Verdict record(NflogPacket p) {
        Verdict.Kind kind = switch (p.prefix()) {
            case Ruleset.PREFIX_DENY_IN -> Verdict.Kind.DENIED_INGRESS;
            case Ruleset.PREFIX_DENY_OUT -> Verdict.Kind.DENIED_EGRESS;
            case Ruleset.PREFIX_ALLOW_IN -> Verdict.Kind.ALLOWED_INGRESS;
            case Ruleset.PREFIX_ALLOW_OUT -> Verdict.Kind.ALLOWED_EGRESS;
            default -> null;
        };
        if (kind == null || p.source() == null) {
            return null;
        }
        String src = p.source().toString();
        String dst = p.destination().toString();
        String protocol = switch (p.protocol()) {
            case 6 -> "tcp";
            case 17 -> "udp";
            case 1 -> "icmp";
            default -> "proto " + p.protocol();
        };
        int port = p.protocol() == 6 || p.protocol() == 17 ? p.destinationPort() : -1;
        int icmpType = p.protocol() == 1 ? p.icmpType() : -1;
        String sourceApp;
        String destinationApp;
        String reason;
        if (kind == Verdict.Kind.DENIED_EGRESS || kind == Verdict.Kind.ALLOWED_EGRESS) {
            sourceApp = directory.appOf(src).orElse("");
            destinationApp = "";
            reason = kind == Verdict.Kind.DENIED_EGRESS ? "no security group or egress policy allows it"
                    : "a security group or egress policy allows it";
        } else {
            // From this cell's containers the address names the app; from another cell, the tag
            // VXLAN-GBP carried in the mark.
            // An untagged packet (mark 0: its app is in no policy, so its cell marks nothing) names no app.
            long tag = p.mark() & 0xffff;
            sourceApp = directory.appOf(src).orElseGet(() -> tag == 0 ? ""
                    : directory.appOfTag(tag).orElse("tag:0x" + Long.toHexString(tag)));
            destinationApp = directory.appOf(dst).orElse("");
            if (kind == Verdict.Kind.ALLOWED_INGRESS) {
                reason = "a policy allows it";
            } else {
                List<String> allowed = directory.allowed(sourceApp, destinationApp);
                reason = allowed.isEmpty() ? "no policy allows it" : "policies allow only " + String.join(", ", allowed);
            }
        }
        Verdict v = new Verdict(Instant.now(clock), kind, sourceApp, src, destinationApp, dst, protocol, port, icmpType,
                p.length(), reason);
        if (kind.denied()) {
            count(kind, sourceApp, destinationApp, p.length());
        }
        publish(v);
        return v;
    }

    /** Denied packets only: what a policy let in is counted from the kernel's counters ({@link AllowedTraffic}). */
    private void count(Verdict.Kind kind, String sourceApp, String destinationApp, int bytes) {
        Counter[] c = counters.computeIfAbsent(List.of(kind.word, kind.direction(), sourceApp, destinationApp), k -> new Counter[] {
                Counter.builder("silk.policy.verdict.packets").description(PACKETS)
                        .tags("verdict", k.get(0), "direction", k.get(1), "source_app", k.get(2), "destination_app", k.get(3)).register(metrics),
                Counter.builder("silk.policy.verdict.bytes").baseUnit("bytes").description(BYTES)
                        .tags("verdict", k.get(0), "direction", k.get(1), "source_app", k.get(2), "destination_app", k.get(3)).register(metrics)});
        c[0].increment();
        c[1].increment(bytes);
    }

    private void publish(Verdict v) {
        long dropped = -1;
        synchronized (this) {
            recent.addLast(v);
            if (recent.size() > RECENT) {
                recent.removeFirst();
            }
            long second = clock.millis() / 1000;
            if (second != windowStart) {
                windowStart = second;
                linesInWindow = 0;
            }
            if (linesInWindow < linesPerSecond) {
                linesInWindow++;
                dropped = suppressed;
                suppressed = 0;
            } else {
                suppressed++;
            }
        }
        if (dropped >= 0) {
            var line = log.atInfo().addKeyValue("verdict", v.kind().word)
                    .addKeyValue("direction", v.kind().direction()).addKeyValue("source_app", v.sourceApp())
                    .addKeyValue("source_ip", v.sourceIp()).addKeyValue("destination_app", v.destinationApp())
                    .addKeyValue("destination_ip", v.destinationIp()).addKeyValue("protocol", v.protocol());
            if (v.port() >= 0) {
                line = line.addKeyValue("port", v.port());
            }
            if (dropped > 0) {
                line = line.addKeyValue("suppressed", dropped);
            }
            line.log(v.line());
        }
        for (Consumer<Verdict> l : listeners) {
            l.accept(v);
        }
    }

    /** The last verdicts, oldest first. */
    public synchronized List<Verdict> recent() {
        return List.copyOf(recent);
    }

    /** Calls {@code listener} with every verdict from now on, until it is removed. */
    public void subscribe(Consumer<Verdict> listener) {
        listeners.add(listener);
    }

    public void unsubscribe(Consumer<Verdict> listener) {
        listeners.remove(listener);
    }
}
