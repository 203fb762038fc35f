package io.silk.daemon;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.silk.daemon.cni.CniHandler;
import io.silk.daemon.cni.CniSocketServer;
import io.silk.daemon.cni.ContainerLink;
import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.health.HealthServer;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.ControllerClient;
import io.silk.daemon.lease.LeaseKeeper;
import io.silk.daemon.lease.LeaseWatcher;
import io.silk.daemon.policy.Iptables;
import io.silk.daemon.policy.PolicyWatcher;
import io.silk.daemon.vtep.Overlay;
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
        subcommands = {CellDaemon.Run.class, CellDaemon.Teardown.class},
        description = "The silk cell daemon: holds the cell's lease, programs the overlay, serves the CNI plugin.")
public final class CellDaemon {

    private static final Logger log = LoggerFactory.getLogger(CellDaemon.class);

    public static void main(String[] args) {
        System.exit(new CommandLine(new CellDaemon()).execute(args));
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

    @Command(name = "teardown", description = "Retire the cell: release its lease and remove the VTEP.")
    static final class Teardown implements Callable<Integer> {
        @Option(names = "--config", required = true, description = "Daemon configuration (properties).")
        Path config;

        @Override
        public Integer call() {
            DaemonConfig cfg = DaemonConfig.load(config);
            try (ControllerClient controller = new ControllerClient(cfg); Netlink netlink = Netlink.open()) {
                Overlay overlay = new Overlay(netlink, cfg.vtepName());
                new LeaseKeeper(cfg, controller, overlay, () -> 0).teardown();
            }
            return 0;
        }
    }

    static void run(DaemonConfig cfg) throws Exception {
        Files.createDirectories(cfg.stateDir());
        enableForwarding();
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Netlink netlink = Netlink.open();
        ControllerClient controller = new ControllerClient(cfg);
        Overlay overlay = new Overlay(netlink, cfg.vtepName());
        AddressBook addresses = new AddressBook(cfg.stateDir());
        forgetVanishedContainers(addresses, netlink);
        LeaseKeeper keeper = new LeaseKeeper(cfg, controller, overlay, addresses::size);
        LeaseWatcher watcher = new LeaseWatcher(controller, keeper, overlay);
        PolicyWatcher policies = new PolicyWatcher(controller, addresses, keeper, new Iptables(), cfg.logDenied());
        keeper.onNewLease(() -> {
            watcher.resync();
            if (cfg.enforcePolicy()) {
                policies.containersChanged();
            }
        });

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
        CniHandler cni = new CniHandler(addresses, new ContainerLink(netlink),
                () -> keeper.lease() == null ? null : new CniHandler.LeaseState(keeper.lease(), keeper.mtu()), metrics);
        if (cfg.enforcePolicy()) {
            // Off the CNI answer's path: ADD returns without waiting for iptables-restore. Until the
            // rules follow, a new container's traffic is denied (fail closed), never wrongly allowed.
            var rules = java.util.concurrent.Executors.newSingleThreadExecutor(
                    Thread.ofPlatform().name("policy-rules").daemon().factory());
            cni.onContainersChanged(() -> rules.execute(policies::containersChanged));
        }
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
        log.info("cell daemon running underlay_ip={} cni_socket={} health=http://{}/health", cfg.underlayIp(),
                cfg.cniSocket(), cfg.healthAddress());

        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM stops the daemon only: lease, VTEP, routes and containers stay as they are.
            renewer.interrupt();
            watching.interrupt();
            policyWatching.interrupt();
            try {
                socket.close();
            } catch (Exception ignored) {
                // Going anyway.
            }
            health.close();
            controller.close();
            stop.countDown();
        }));
        stop.await();
    }

    /**
     * Containers deleted while the daemon was down (the plugin removes their interface itself)
     * give their addresses back here.
     */
    private static void forgetVanishedContainers(AddressBook addresses, Netlink netlink) {
        for (AddressBook.Attachment a : addresses.all()) {
            if (netlink.link(a.hostInterface()).isEmpty()) {
                addresses.release(a.containerId(), a.ifname());
                log.info("released the address of a container deleted while the daemon was down container={} ip={}",
                        a.containerId(), a.ip());
            }
        }
    }

    /** The cell routes between containers and the overlay. */
    private static void enableForwarding() {
        try {
            Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "1");
        } catch (Exception e) {
            log.warn("could not enable IPv4 forwarding: {}", e.getMessage());
        }
    }
}
