package io.silk.daemon;

import static io.silk.daemon.Cells.CELL;
import static io.silk.daemon.Namespaces.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.silk.daemon.cni.ContainerLink;
import io.silk.daemon.config.DaemonConfig;
import io.silk.daemon.controller.GrpcController;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.lease.HeldLease;
import io.silk.daemon.lease.LeaseKeeper;
import io.silk.daemon.policy.Iptables;
import io.silk.daemon.policy.IptablesBackend;
import io.silk.daemon.policy.PolicyRules;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.KernelOverlay;
import io.silk.netlink.Netlink;
import io.silk.proto.v1.C2CPolicy;
import io.silk.testing.FakeController;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retiring a cell in a namespace of its own: a daemon's worth of kernel state (VTEP, a route, ARP
 * and FDB entries to another cell, policy chains and hooks, a container), then teardown.
 */
class TeardownTest {

    @TempDir
    Path dir;

    final Namespaces namespaces = new Namespaces();
    final FakeController fake = FakeController.start();
    final GrpcController controller = Cells.controller(fake);
    final CellState cell = new CellState();
    String ns;
    String container;
    Netlink netlink;
    DaemonConfig config;
    AddressBook addresses;
    IptablesBackend rules;

    @BeforeEach
    void aCellAsTheDaemonLeavesIt() throws Exception {
        ns = namespaces.cell("cell", CELL);
        container = namespaces.add("ctr");
        netlink = Netlink.openIn(Namespaces.path(ns));
        config = Cells.config(fake, dir);
        KernelOverlay overlay = new KernelOverlay(netlink, "silk-vtep");
        LeaseKeeper keeper = new LeaseKeeper(config, controller, overlay, cell);
        assertThat(keeper.establish()).isTrue();
        HeldLease self = keeper.lease();
        overlay.converge(self, List.of(TestLeases.remote("10.0.0.6", "10.255.6.0/24", "ee:ee:0a:ff:06:00")));

        addresses = new AddressBook(dir);
        AddressBook.Attachment a = addresses.allocate(self.subnet(), "ctr-1", "eth0", "s-ctr1", "app-a");
        new ContainerLink(netlink).attach(Namespaces.path(container), "eth0", a.hostInterface(), a.ip(), 1450);
        Files.writeString(config.cniSocket(), ""); // the socket file a stopped daemon leaves

        rules = new IptablesBackend(new Iptables(List.of("ip", "netns", "exec", ns)));
        rules.prepare();
        rules.apply(new PolicyRules.Inputs(self.subnet().toString(), self.overlayNetwork().toString(),
                List.of(new PolicyRules.LocalContainer(a.ip(), "app-a")),
                List.of(C2CPolicy.newBuilder().setId(1).setSourceId("app-b").setSourceTag(2).setDestinationId("app-a")
                        .setDestinationTag(1).setProtocol("tcp").setStartPort(8080).setEndPort(8080).build()),
                List.of(), false));
        assertThat(iptablesSave()).contains("silk-forward", "silk-in-", "-j silk-mark");
    }

    @AfterEach
    void clean() {
        if (netlink != null) {
            netlink.close();
        }
        namespaces.close();
        cell.close();
        controller.close();
        fake.close();
    }

    String iptablesSave() {
        return sh("ip", "netns", "exec", ns, "iptables-save");
    }

    Teardown teardown() {
        return new Teardown(config, controller, new KernelOverlay(netlink, "silk-vtep"), rules, new AddressBook(dir),
                new ContainerLink(netlink));
    }

    void assertNothingTheDaemonMadeIsLeft() {
        assertThat(sh("ip", "-n", ns, "link", "show")).doesNotContain("silk-vtep", "s-ctr1");
        assertThat(sh("ip", "-n", ns, "route", "show", "table", "all")).doesNotContain("10.255.", "proto 90");
        assertThat(sh("ip", "-n", ns, "neigh", "show")).doesNotContain("ee:ee:");
        assertThat(sh("bridge", "-n", ns, "fdb", "show")).doesNotContain("ee:ee:");
        assertThat(iptablesSave()).doesNotContain("silk");
        assertThat(dir.resolve("lease.json")).doesNotExist();
        assertThat(dir.resolve("containers.json")).doesNotExist();
        assertThat(config.cniSocket()).doesNotExist();
        assertThat(fake.leases()).doesNotContainKey(CELL);
        assertThat(fake.calls()).contains("Release " + CELL);
    }

    @Test
    void teardownRefusesWhileContainersAreAttachedAndRemovesNothing() {
        assertThatThrownBy(() -> teardown().run(false)).isInstanceOf(Teardown.Refused.class)
                .hasMessageStartingWith("1 container is attached to this cell")
                .hasMessageContaining("teardown --force");

        assertThat(sh("ip", "-n", ns, "link", "show")).contains("silk-vtep", "s-ctr1");
        assertThat(iptablesSave()).contains("silk-forward");
        assertThat(dir.resolve("lease.json")).exists();
        assertThat(fake.leases()).containsKey(CELL);
        assertThat(fake.calls()).doesNotContain("Release " + CELL);
    }

    @Test
    void teardownWithForceRemovesEverythingTheDaemonMadeContainersIncluded() {
        Teardown.Report r = teardown().run(true);

        assertThat(r).isEqualTo(new Teardown.Report(true, true, r.chainsRemoved(), 1));
        assertThat(r.chainsRemoved()).isGreaterThanOrEqualTo(5); // mark, forward, masquerade, the container's in and out
        assertNothingTheDaemonMadeIsLeft();
        assertThat(sh("ip", "-n", container, "link", "show")).doesNotContain("eth0");
    }

    @Test
    void teardownOfACellWithoutContainersNeedsNoForce() {
        new ContainerLink(netlink).detach(Namespaces.path(container), "eth0", "s-ctr1");
        new AddressBook(dir).release("ctr-1", "eth0");

        Teardown.Report r = teardown().run(false);

        assertThat(r.released()).isTrue();
        assertThat(r.containersDetached()).isZero();
        assertNothingTheDaemonMadeIsLeft();
    }

    @Test
    void teardownRefusesWhenTheLeaseCannotBeReleasedUnlessForced() {
        new AddressBook(dir).release("ctr-1", "eth0");
        fake.unreachable();

        assertThatThrownBy(() -> teardown().run(false)).isInstanceOf(Teardown.Refused.class)
                .hasMessageStartingWith("could not release the lease of " + CELL + ": UNAVAILABLE")
                .hasMessageContaining("Nothing was removed");
        assertThat(sh("ip", "-n", ns, "link", "show")).contains("silk-vtep");

        Teardown.Report r = teardown().run(true);
        assertThat(r.released()).isFalse();
        assertThat(sh("ip", "-n", ns, "link", "show")).doesNotContain("silk-vtep");
        assertThat(iptablesSave()).doesNotContain("silk");
    }
}
