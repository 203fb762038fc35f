package io.silk.daemon.policy.verdict;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code GET /flows}: the recent verdicts as JSON lines, oldest first; with {@code ?follow=true}
 * the connection stays open and every new verdict follows as it happens (what {@code silk flows}
 * reads). A slow reader loses verdicts rather than slowing the daemon.
 */
public final class FlowsEndpoint implements HttpHandler {

    private static final int QUEUE = 1024;
    private final VerdictLog verdicts;

    public FlowsEndpoint(VerdictLog verdicts) {
        this.verdicts = verdicts;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String query = ex.getRequestURI().getQuery();
        boolean follow = query != null && (query.contains("follow=true") || query.contains("follow=1"));
        BlockingQueue<Verdict> queue = new LinkedBlockingQueue<>(QUEUE);
        Consumer<Verdict> listener = queue::offer;
        if (follow) {
            verdicts.subscribe(listener);
        }
        ex.getResponseHeaders().set("Content-Type", "application/x-ndjson");
        ex.sendResponseHeaders(200, 0); // chunked
        try (OutputStream out = ex.getResponseBody()) {
            for (Verdict v : verdicts.recent()) {
                out.write((v.json() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            out.flush();
            while (follow) {
                Verdict v = queue.poll(5, TimeUnit.SECONDS);
                // An empty line now and then finds a reader that went away.
                out.write(((v == null ? "" : v.json()) + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // The reader went away.
        } finally {
            verdicts.unsubscribe(listener);
        }
    }
}
