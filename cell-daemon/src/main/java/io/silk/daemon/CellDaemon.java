package io.silk.daemon;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.silk.daemon.cni.CniHandler;
import io.silk.daemon.cni.CniSocketServer;
import io.silk.daemon.cni.ContainerLink;
import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.controller.GrpcController;
import io.silk.daemon.health.HealthServer;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.LeaseKeeper;
import io.silk.daemon.lease.LeaseWatcher;
import io.silk.daemon.policy.Iptables;
import io.silk.daemon.policy.IptablesBackend;
import io.silk.daemon.policy.PolicyBackend;
import io.silk.daemon.policy.nftables.KernelNftables;
import io.silk.daemon.policy.nftables.LibNftables;
import io.silk.daemon.policy.nftables.NftablesBackend;
import io.silk.daemon.policy.nftables.Ruleset;
import io.silk.daemon.policy.verdict.AllowedTraffic;
import io.silk.daemon.policy.verdict.FlowsEndpoint;
import io.silk.daemon.policy.verdict.VerdictLog;
import io.silk.netlink.NflogPacket;
import io.silk.netlink.NflogSocket;
import io.silk.daemon.policy.PolicyWatcher;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.KernelOverlay;
import io.silk.netlink.Netlink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code silk-cell-daemon run|teardown --config FILE}: one per cell, in the cell's network
 * namespace, as root.
 */
@Command(name = "silk-cell-daemon", mixinStandardHelpOptions = true,
        subcommands = {CellDaemon.Run.class, CellDaemon.TeardownCommand.class},
        description = "The silk cell daemon: holds the cell's lease, programs the overlay, serves the CNI plugin.")
public final class CellDaemon {

    private static final Logger log = LoggerFactory.getLogger(CellDaemon.class);

    public static void main(String[] args) {
        String format = System.getenv().getOrDefault("SILK_LOG_FORMAT", "text");
        if (!format.equals("text") && !format.equals("json")) {
            System.err.println("silk-cell-daemon: SILK_LOG_FORMAT " + io.silk.values.Quote.shortened(format) + " is not text or json");
            System.exit(2);
        }
        CommandLine cli = new CommandLine(new CellDaemon());
        // Operator errors (a bad setting, a refused teardown) as one clear line, not a stack trace.
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof Teardown.Refused) {
                line.getErr().println("silk-cell-daemon: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    @Command(name = "run", description = "Run the daemon until SIGTERM.")
    static final class Run implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "Daemon configuration (properties).")
        Path config;

        @Override
        public Integer call() throws Exception {
            DaemonConfig cfg = DaemonConfig.load(config);
            run(cfg);
            return 0;
        }
    }

    @Command(name = "teardown", description = "Retire the cell (daemon stopped): release its lease and remove everything the"
            + " daemon made (VTEP, routes, ARP/FDB entries, policy rules and hooks, state files).")
    static final class TeardownCommand implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "Daemon configuration (properties).")
        Path config;

        @Option(names = "--force", description = "Also when containers are attached (they are detached) or the controller"
                + " cannot be reached (the lease then expires on its own).")
        boolean force;

        @Override
        public Integer call() {
            DaemonConfig cfg = DaemonConfig.load(config);
            try (GrpcController controller = GrpcController.connect(cfg); Netlink netlink = Netlink.open()) {
                Teardown.Report r = new Teardown(cfg, controller, new KernelOverlay(netlink, cfg.vtepName()),
                        policyBackend(cfg, cfg.policyBackend() == DaemonConfig.PolicyBackendKind.NFTABLES ? KernelNftables.open() : null),
                        new AddressBook(cfg.stateDir()), new ContainerLink(netlink)).run(force);
                System.out.println("cell " + cfg.underlayIp() + " retired: lease " + (r.released() ? "released" : "not held")
                        + ", vtep " + (r.vtepRemoved() ? "removed" : "absent") + ", " + r.chainsRemoved() + " policy chains and "
                        + r.containersDetached() + " container attachments removed");
            }
            return 0;
        }
    }

    static void run(DaemonConfig cfg) throws Exception {
        Files.createDirectories(cfg.stateDir());
        enableForwarding();
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Netlink netlink = Netlink.open();
        GrpcController controller = GrpcController.connect(cfg);
        KernelOverlay overlay = new KernelOverlay(netlink, cfg.vtepName());
        AddressBook addresses = new AddressBook(cfg.stateDir());
        forgetVanishedContainers(addresses, netlink);
        CellState cell = new CellState();
        cell.containers(addresses.all());
        LeaseKeeper keeper = new LeaseKeeper(cfg, controller, overlay, cell);
        LeaseWatcher watcher = new LeaseWatcher(controller, cell, overlay);
        KernelNftables nft = cfg.enforcePolicy() && cfg.policyBackend() == DaemonConfig.PolicyBackendKind.NFTABLES
                ? KernelNftables.open() : null;
        PolicyBackend backend = cfg.enforcePolicy() ? policyBackend(cfg, nft) : null;
        PolicyWatcher policies = new PolicyWatcher(controller, cell, backend, cfg.logDenied(), metrics);
        if (backend instanceof NftablesBackend nftables) {
            for (String set : nftables.elementCounts().keySet()) {
                Gauge.builder("silk.policy.elements", nftables, b -> b.elementCounts().get(set))
                        .description("Elements the daemon holds in a set of its nftables table").tag("set", set).register(metrics);
            }
        }

        Gauge.builder("silk.daemon.lease.held", keeper, k -> k.lease() == null ? 0 : 1).register(metrics);
        Gauge.builder("silk.daemon.lease.renew.age", keeper,
                k -> k.lastRenewed() == null ? Double.NaN : Duration.between(k.lastRenewed(), Instant.now()).toMillis() / 1000.0)
                .baseUnit("seconds").register(metrics);
        Gauge.builder("silk.daemon.remote.leases", watcher, LeaseWatcher::remoteCount).register(metrics);
        Gauge.builder("silk.daemon.watch.connected", watcher, w -> w.connected() ? 1 : 0).register(metrics);
        Gauge.builder("silk.daemon.containers", addresses, AddressBook::size).register(metrics);

        keeper.establish();
        if (cfg.enforcePolicy()) {
            policies.prepare();
        } else {
            log.warn("policy.enforce=false: no network policy is enforced on this cell; all overlay traffic flows");
        }
        CniHandler cni = new CniHandler(addresses, new ContainerLink(netlink), cell, metrics);
        Gauge.builder("silk.daemon.policy.watch.connected", policies, p -> p.connected() ? 1 : 0).register(metrics);
        CniSocketServer socket = new CniSocketServer(cfg.cniSocket(), cni);
        HealthServer health = new HealthServer(cfg.healthAddress(), keeper::problem,
                () -> "\"subnet\":\"" + (keeper.lease() == null ? "" : keeper.lease().subnet()) + "\",\"watching\":"
                        + watcher.connected() + ",\"remote_leases\":" + watcher.remoteCount()
                        + ",\"containers\":" + addresses.size() + ",\"policies_watching\":" + policies.connected(), metrics);
        Thread renewer = Thread.ofPlatform().name("lease-renew").daemon().start(keeper::renewLoop);
        Thread watching = Thread.ofPlatform().name("lease-watch").daemon().start(watcher::watchLoop);
        Thread policyWatching = cfg.enforcePolicy()
                ? Thread.ofPlatform().name("policy-watch").daemon().start(policies::watchLoop)
                : Thread.ofPlatform().unstarted(() -> {});
        // Verdicts: the nftables table logs to NFLOG; the daemon names, counts and serves them. Read
        // whenever nftables enforces (security-group rules with log:true log whatever the switches
        // say); without the group (another reader holds it) the cell enforces all the same.
        NflogSocket nflog = null;
        if (backend instanceof NftablesBackend nftables) {
            try {
                nflog = NflogSocket.open(cfg.nflogGroup());
                VerdictLog verdicts = new VerdictLog(nftables, metrics, VERDICT_LINES_PER_SECOND, java.time.Clock.systemUTC());
                health.handle("/flows", new FlowsEndpoint(verdicts));
                NflogSocket reading = nflog;
                Thread.ofPlatform().name("verdicts").daemon().start(() -> readVerdicts(reading, verdicts));
            } catch (RuntimeException e) {
                log.atError().addKeyValue("group", cfg.nflogGroup()).addKeyValue("error", e.getMessage())
                        .log("cannot read policy verdicts from NFLOG; enforcing without verdict logs (set policy.nflog-group)");
            }
        }
        NflogSocket nflogToClose = nflog;
        if (backend instanceof NftablesBackend nftables && !cfg.countersInterval().isZero()) {
            // An nft context (and thread) of its own: listing 100,000 counters must not delay a change.
            LibNftables counters = LibNftables.open();
            AllowedTraffic allowed = new AllowedTraffic(counters::json, nftables, metrics);
            Thread.ofPlatform().name("policy-counters").daemon().start(() -> everyInterval(cfg.countersInterval(), allowed::read,
                    "reading the policy counters"));
        }
        Thread reconciling = cfg.enforcePolicy()
                ? Thread.ofPlatform().name("policy-reconcile").daemon().start(() -> everyInterval(cfg.reconcileInterval(),
                        policies::reconcile, "policy reconcile"))
                : Thread.ofPlatform().unstarted(() -> {});
        log.atInfo().addKeyValue("underlay_ip", cfg.underlayIp()).addKeyValue("cni_socket", cfg.cniSocket())
                .addKeyValue("health", "http://" + cfg.healthAddress() + "/health").log("cell daemon running");

        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM stops the daemon only: lease, VTEP, routes and containers stay as they are.
            renewer.interrupt();
            watching.interrupt();
            policyWatching.interrupt();
            reconciling.interrupt();
            try {
                socket.close();
            } catch (Exception ignored) {
                // Going anyway.
            }
            health.close();
            if (nflogToClose != null) {
                nflogToClose.close();
            }
            cell.close();
            controller.close();
            stop.countDown();
        }));
        stop.await();
    }

    /** The configured policy backend; nftables also removes the iptables chains of an earlier version once in place. */
    static PolicyBackend policyBackend(DaemonConfig cfg, KernelNftables nft) {
        return switch (cfg.policyBackend()) {
            case NFTABLES -> new NftablesBackend(nft, new Iptables(),
                    new Ruleset.Logging(cfg.logDenied(), cfg.logAccepted(), cfg.nflogGroup(), DENIED_LOG_RATE,
                            cfg.logEgressAccepted()), cfg.denyNetworks(), cfg.securityGroups(), cfg.ingressTag());
            case IPTABLES -> new IptablesBackend(new Iptables());
        };
    }

    /** Denied packets the kernel hands to NFLOG per second at most (the daemon's log lines are rate-limited again). */
    static final int DENIED_LOG_RATE = 1000;

    /** Verdict log lines a second at most; the rest are counted and said on the next line. */
    static final int VERDICT_LINES_PER_SECOND = 10;

    private static void readVerdicts(NflogSocket socket, VerdictLog verdicts) {
        while (true) {
            try {
                for (NflogPacket p : socket.receive()) {
                    verdicts.record(p);
                }
            } catch (RuntimeException e) {
                if (socket.isClosed()) {
                    return;
                }
                log.atWarn().addKeyValue("error", e.getMessage()).log("reading policy verdicts from NFLOG failed; going on");
            }
        }
    }

    private static void everyInterval(Duration interval, Runnable task, String what) {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(interval);
                task.run();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.atWarn().addKeyValue("error", e.getMessage()).log(what + " failed; next try in one interval");
            }
        }
    }

    /**
     * Containers deleted while the daemon was down (the plugin removes their interface itself)
     * give their addresses back here.
     */
    private static void forgetVanishedContainers(AddressBook addresses, Netlink netlink) {
        for (AddressBook.Attachment a : addresses.all()) {
            if (netlink.link(a.hostInterface()).isEmpty()) {
                addresses.release(a.containerId(), a.ifname());
                log.atInfo().addKeyValue("container", a.containerId()).addKeyValue("ip", a.ip())
                        .log("released the address of a container deleted while the daemon was down");
            }
        }
    }

    /** The cell routes between containers and the overlay. */
    private static void enableForwarding() {
        try {
            Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "1");
        } catch (Exception e) {
            log.atWarn().addKeyValue("error", e.getMessage()).log("could not enable IPv4 forwarding");
        }
    }
}
