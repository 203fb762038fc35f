package io.silk.load;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Where the machine's cores went during a run: Gatling (this JVM), the controller, its
 * PostgreSQL. Everything shares one 2-core machine, so a figure means little without it.
 */
final class CpuSplit {

    private final Map<String, java.util.function.DoubleSupplier> trees = new LinkedHashMap<>();
    private final Map<String, Double> start = new LinkedHashMap<>();
    private long startNanos;

    CpuSplit(ControllerUnderTest controller) {
        // Gatling alone: the controller it started is its child.
        trees.put("gatling", new ProcessTree(ProcessHandle.current().pid())::ownCpuSeconds);
        List<ProcessTree> replicas = controller.replicas();
        for (int i = 0; i < replicas.size(); i++) {
            trees.put(replicas.size() == 1 ? "controller" : "controller-" + (i + 1), replicas.get(i)::cpuSeconds);
        }
        controller.database().ifPresent(t -> trees.put("postgresql", t::cpuSeconds));
    }

    void start() {
        startNanos = System.nanoTime();
        trees.forEach((name, cpu) -> start.put(name, cpu.getAsDouble()));
    }

    /** Cores each used since {@link #start}, e.g. "gatling 0.61, controller 0.88, postgresql 0.40 cores of 2". */
    String sinceStart() {
        if (start.isEmpty()) {
            return "(not measured)";
        }
        double wall = (System.nanoTime() - startNanos) / 1e9;
        return trees.entrySet().stream()
                .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), (e.getValue().getAsDouble() - start.get(e.getKey())) / wall))
                .collect(Collectors.joining(", ")) + " cores of " + Runtime.getRuntime().availableProcessors();
    }
}
