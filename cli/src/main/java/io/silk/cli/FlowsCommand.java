package io.silk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code silk flows}: the policy verdicts of one cell (what its daemon read from the kernel's
 * NFLOG), one line each, like Hubble's observe: time, verdict, both ends, what, why.
 */
@Command(name = "flows", description = "Show the policy verdicts of a cell (denied packets; allowed new connections when"
        + " the cell logs them). Run on the cell: the daemon serves them on its loopback health port.")
final class FlowsCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--cell", defaultValue = "${env:SILK_CELL:-127.0.0.1:9465}",
            description = "The cell daemon's health address, host:port (env SILK_CELL; default ${DEFAULT-VALUE}).")
    String cell;

    @Option(names = {"-f", "--follow"}, description = "Keep printing verdicts as they happen.")
    boolean follow;

    @Option(names = "--denied", description = "Only denied packets.")
    boolean deniedOnly;

    @Option(names = "--app", description = "Only verdicts with this app at either end.")
    String app;

    @Option(names = "--json", description = "The daemon's JSON lines as they are.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        URI uri = URI.create("http://" + cell + "/flows" + (follow ? "?follow=true" : ""));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<java.io.InputStream> r;
        try {
            r = http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new PolicyClient.ApiFailure("cell daemon at " + cell + " did not answer: " + e.getMessage(), true);
        }
        if (r.statusCode() != 200) {
            throw new PolicyClient.ApiFailure("cell daemon at " + cell + " answered " + r.statusCode()
                    + " for /flows (a daemon without nftables verdict logging?)", false);
        }
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode v = JSON.readTree(line);
                if (deniedOnly && !v.path("verdict").asText().equals("denied")) {
                    continue;
                }
                if (app != null && !app.equals(v.path("source_app").asText()) && !app.equals(v.path("destination_app").asText())) {
                    continue;
                }
                out.println(json ? line : format(v));
                out.flush();
            }
        }
        return 0;
    }

    /** {@code 08:15:02.123  DENIED   app=a(10.255.1.2) -> app=b(10.255.2.3)  tcp/8080  no policy allows it}. */
    static String format(JsonNode v) {
        String time = v.path("time").asText();
        int t = time.indexOf('T');
        String clock = t >= 0 ? time.substring(t + 1, Math.min(time.length(), t + 13)) : time;
        int port = v.path("port").asInt(-1);
        int icmp = v.path("icmp_type").asInt(-1);
        String what = v.path("protocol").asText() + (port >= 0 ? "/" + port : icmp >= 0 ? " type " + icmp : "");
        return String.format("%-12s %-8s %s -> %s  %s  %s", clock, v.path("verdict").asText().toUpperCase(java.util.Locale.ROOT),
                end(v, "source"), end(v, "destination"), what, v.path("reason").asText());
    }

    private static String end(JsonNode v, String side) {
        String app = v.path(side + "_app").asText();
        String ip = v.path(side + "_ip").asText();
        return app.isEmpty() ? ip : "app=" + app + "(" + ip + ")";
    }
}
