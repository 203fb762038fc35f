package io.silk.daemon.policy.verdict;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Packets and bytes the C2C policies let in, per app pair, from the kernel's per-element counters
 * of {@code c2c_port} and {@code c2c_range}. Read on an interval in the background (a listing of
 * the sets, never on a change's path); an element's counter that went down was written anew (the
 * daemon's whole write empties the sets, which {@link Writes} tells), so after one the new values
 * count from zero. What passed between the last read and a whole write is not counted.
 */
public final class AllowedTraffic {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SETS = List.of("c2c_port", "c2c_range");

    /** How many times the sets were emptied and written anew, so far. */
    public interface Writes {
        long wholeWrites();
    }

    private final java.util.function.UnaryOperator<String> listing;
    private final PolicyDirectory directory;
    private final Writes writes;
    private long writesSeen = -1;
    private final MeterRegistry metrics;
    /** Per element (its key as listed): the last packets and bytes seen. */
    private final Map<String, long[]> lastSeen = new HashMap<>();
    private final Map<List<String>, AtomicLongArray> totals = new ConcurrentHashMap<>();

    /**
     * @param listing runs an nft listing command and returns its JSON: give it an nft context of its
     *                own, so a listing of a large set never holds up a policy change behind it
     */
    public <T extends PolicyDirectory & Writes> AllowedTraffic(java.util.function.UnaryOperator<String> listing, T backend,
            MeterRegistry metrics) {
        this.listing = listing;
        this.directory = backend;
        this.writes = backend;
        this.metrics = metrics;
    }

    /** Reads the counters once and adds what grew to the app pairs' totals. */
    public synchronized void read() {
        long generation = writes.wholeWrites();
        if (generation != writesSeen) {
            lastSeen.clear(); // every element was written anew: its counter started from zero
        }
        Map<String, long[]> seen = new HashMap<>();
        for (String set : SETS) {
            JsonNode root;
            try {
                root = JSON.readTree(listing.apply("list set inet silk " + set));
            } catch (IOException e) {
                throw new IllegalStateException("read the counters of inet silk " + set + ": " + e.getMessage(), e);
            }
            for (JsonNode item : root.path("nftables")) {
                for (JsonNode e : item.path("set").path("elem")) {
                    JsonNode elem = e.path("elem");
                    JsonNode concat = elem.path("val").path("concat");
                    if (concat.size() < 2) {
                        continue;
                    }
                    String key = set + " " + concat;
                    long packets = elem.path("counter").path("packets").asLong();
                    long bytes = elem.path("counter").path("bytes").asLong();
                    seen.put(key, new long[] {packets, bytes});
                    long[] before = lastSeen.getOrDefault(key, new long[2]);
                    long dp = packets >= before[0] ? packets - before[0] : packets;
                    long db = bytes >= before[1] ? bytes - before[1] : bytes;
                    if (dp == 0 && db == 0) {
                        continue;
                    }
                    String destinationApp = directory.appOf(concat.get(0).asText()).orElse("");
                    long tag = concat.get(1).asLong();
                    String sourceApp = directory.appOfTag(tag).orElse("tag:0x" + Long.toHexString(tag));
                    AtomicLongArray total = totals.computeIfAbsent(List.of(sourceApp, destinationApp), this::register);
                    total.addAndGet(0, dp);
                    total.addAndGet(1, db);
                }
            }
        }
        lastSeen.clear();
        lastSeen.putAll(seen);
        // Written anew while reading: what was read may be either side of it; start over next time.
        writesSeen = writes.wholeWrites() == generation ? generation : -1;
    }

    private AtomicLongArray register(List<String> pair) {
        AtomicLongArray total = new AtomicLongArray(2);
        FunctionCounter.builder("silk.policy.verdict.packets", total, t -> t.get(0))
                .description(VerdictLog.PACKETS).tags("verdict", "allowed", "direction", "ingress",
                        "source_app", pair.get(0), "destination_app", pair.get(1)).register(metrics);
        FunctionCounter.builder("silk.policy.verdict.bytes", total, t -> t.get(1)).baseUnit("bytes")
                .description(VerdictLog.BYTES).tags("verdict", "allowed", "direction", "ingress",
                        "source_app", pair.get(0), "destination_app", pair.get(1)).register(metrics);
        return total;
    }
}
