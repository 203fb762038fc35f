package io.silk.daemon;

import io.silk.daemon.cni.ContainerLink;
import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.controller.Controller;
import io.silk.daemon.controller.ControllerException;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.LeaseKeeper;
import io.silk.daemon.policy.PolicyBackend;
import io.silk.daemon.vtep.Overlay;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retires a cell (the daemon stopped): gives the lease back and removes everything the daemon made
 * — the VTEP with its routes, ARP and FDB entries, the policy rules, chains and hooks, the state
 * files and the CNI socket. It refuses while containers are attached, since they would lose their
 * network; {@code force} detaches them too.
 */
public final class Teardown {

    private static final Logger log = LoggerFactory.getLogger(Teardown.class);

    /** Teardown would do harm, or could not release the lease; nothing was removed. */
    public static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message);
        }
    }

    /** What was done. */
    public record Report(boolean released, boolean vtepRemoved, int chainsRemoved, int containersDetached) {}

    private final DaemonConfig config;
    private final Controller controller;
    private final Overlay overlay;
    private final PolicyBackend rules;
    private final AddressBook addresses;
    private final ContainerLink links;

    public Teardown(DaemonConfig config, Controller controller, Overlay overlay, PolicyBackend rules, AddressBook addresses,
            ContainerLink links) {
        this.config = config;
        this.controller = controller;
        this.overlay = overlay;
        this.rules = rules;
        this.addresses = addresses;
        this.links = links;
    }

    public Report run(boolean force) {
        List<AddressBook.Attachment> attached = addresses.all();
        if (!attached.isEmpty() && !force) {
            throw new Refused(attached.size() + (attached.size() == 1 ? " container is" : " containers are")
                    + " attached to this cell (" + config.stateDir().resolve("containers.json")
                    + "); they would lose their network. Delete them first, or run teardown --force to detach them too.");
        }
        boolean released;
        try {
            released = controller.release(config.underlayIp());
        } catch (ControllerException e) {
            if (!force) {
                throw new Refused("could not release the lease of " + config.underlayIp() + ": " + e.getMessage()
                        + ". Nothing was removed; retry when the controller answers, or run teardown --force to clean up"
                        + " this cell anyway (the lease then expires on its own).");
            }
            log.atWarn().addKeyValue("error", e.getMessage()).log("lease not released; cleaning up the cell anyway (--force)");
            released = false;
        }
        for (AddressBook.Attachment a : attached) {
            links.detach(null, a.ifname(), a.hostInterface());
            addresses.release(a.containerId(), a.ifname());
        }
        int chains = rules.removeAll();
        boolean vtep = overlay.removeAll();
        LeaseKeeper.stateFile(config).delete();
        try {
            Files.deleteIfExists(config.stateDir().resolve("containers.json"));
            Files.deleteIfExists(config.cniSocket());
        } catch (IOException e) {
            throw new UncheckedIOException("remove the daemon's files in " + config.stateDir() + ": " + e.getMessage(), e);
        }
        log.atInfo().addKeyValue("released", released).addKeyValue("vtep_removed", vtep).addKeyValue("chains_removed", chains)
                .addKeyValue("containers_detached", attached.size()).log("cell retired");
        return new Report(released, vtep, chains, attached.size());
    }
}
