package io.silk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The policy server's REST API. Target and token come from --api/--token, else SILK_API and
 * SILK_TOKEN, else the config file (~/.silk/config.json: {"api": "...", "token": "..."}).
 */
final class PolicyClient {

    static final ObjectMapper JSON = new ObjectMapper();

    /** A refusal (4xx) or an outage (5xx, no connection), with the server's message. */
    static final class ApiFailure extends RuntimeException {
        final boolean retriable;

        ApiFailure(String message, boolean retriable) {
            super(message);
            this.retriable = retriable;
        }
    }

    static final class Target {
        @Option(names = "--api", description = "Policy server URL, e.g. http://127.0.0.1:4002 (env SILK_API).")
        String api;

        @Option(names = "--token", description = "OAuth2 bearer token (env SILK_TOKEN).")
        String token;

        @Option(names = "--config", description = "Config file (default ~/.silk/config.json).")
        File config;

        PolicyClient client() {
            String url = first(api, System.getenv("SILK_API"), fromConfig("api"));
            if (url == null) {
                throw new IllegalArgumentException("no policy server: give --api, set SILK_API, or write ~/.silk/config.json");
            }
            return new PolicyClient(url.replaceAll("/+$", ""), first(token, System.getenv("SILK_TOKEN"), fromConfig("token")));
        }

        private String fromConfig(String key) {
            Path file = config != null ? config.toPath() : Path.of(System.getProperty("user.home"), ".silk", "config.json");
            if (!Files.exists(file)) {
                return null;
            }
            try {
                JsonNode n = JSON.readTree(file.toFile());
                return n.hasNonNull(key) ? n.get(key).asText() : null;
            } catch (IOException e) {
                throw new IllegalArgumentException("config file " + file + " is not valid JSON: " + e.getMessage());
            }
        }

        private static String first(String... values) {
            for (String v : values) {
                if (v != null && !v.isBlank()) {
                    return v;
                }
            }
            return null;
        }
    }

    private final String base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    PolicyClient(String base, String token) {
        this.base = base;
        this.token = token;
    }

    JsonNode get(String path) {
        return send("GET", path, null);
    }

    JsonNode post(String path, Object body) {
        return send("POST", path, body);
    }

    JsonNode patch(String path, Object body) {
        return send("PATCH", path, body);
    }

    JsonNode delete(String path) {
        return send("DELETE", path, null);
    }

    private JsonNode send(String method, String path, Object body) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/networking/v1/external" + path))
                    .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json");
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = r.body().isEmpty() ? JSON.createObjectNode() : readOrWrap(r.body());
            if (r.statusCode() >= 400) {
                String message = json.hasNonNull("error") ? json.get("error").asText() : r.body();
                throw new ApiFailure(message + " (HTTP " + r.statusCode() + ")", r.statusCode() >= 500);
            }
            return json;
        } catch (IOException e) {
            throw new ApiFailure("cannot reach the policy server at " + base + ": " + e, true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiFailure("interrupted", true);
        }
    }

    private static JsonNode readOrWrap(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode().put("error", body);
        }
    }
}
