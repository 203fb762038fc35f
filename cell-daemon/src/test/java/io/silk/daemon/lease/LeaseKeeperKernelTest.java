package io.silk.daemon.lease;

import static io.silk.daemon.Cells.CELL;
import static io.silk.daemon.Namespaces.sh;
import static org.assertj.core.api.Assertions.assertThat;

import io.silk.daemon.Cells;
import io.silk.daemon.Namespaces;
import io.silk.daemon.TestLeases;
import io.silk.daemon.controller.GrpcController;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.KernelOverlay;
import io.silk.daemon.vtep.RemoteLease;
import io.silk.netlink.Netlink;
import io.silk.testing.FakeController;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.SilkMacs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Recovery from the kernel alone, with the real VTEP in a namespace of its own. */
class LeaseKeeperKernelTest {

    @TempDir
    Path dir;

    final Namespaces namespaces = new Namespaces();
    FakeController fake;
    GrpcController controller;

    @AfterEach
    void clean() {
        namespaces.close();
        if (controller != null) {
            controller.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    /**
     * The state file and the controller's database are both gone: the VTEP and its routes name the
     * lease. A router's single overlay IP (a /32 route, first in the kernel's order) tells nothing
     * about the pool's prefix.
     */
    @ParameterizedTest(name = "/{0} in /16")
    @ValueSource(ints = {24, 20, 26})
    void withoutAStateFileTheLeaseIsRecoveredFromTheVtepInTheKernel(int prefix) throws Exception {
        fake = FakeController.start("10.255.0.0/16", prefix);
        controller = Cells.controller(fake);
        String ns = namespaces.cell("cell", CELL);
        try (Netlink netlink = Netlink.openIn(Namespaces.path(ns)); CellState first = new CellState();
                CellState second = new CellState()) {
            KernelOverlay overlay = new KernelOverlay(netlink, "silk-vtep");
            LeaseKeeper before = new LeaseKeeper(Cells.config(fake, dir), controller, overlay, first);
            before.establish();
            HeldLease held = before.lease();
            Ipv4Network otherSubnet = new Ipv4Network(new Ipv4Address(0x0aff0000 + (9 << (32 - prefix))), prefix);
            RemoteLease remote = new RemoteLease(TestLeases.ip("10.0.0.6"), otherSubnet, SilkMacs.vtep(otherSubnet));
            Ipv4Network routerIp = new Ipv4Network(TestLeases.ip("10.255.0.5"), 32);
            RemoteLease router = new RemoteLease(TestLeases.ip("10.0.0.7"), routerIp, SilkMacs.vtep(routerIp));
            // What the lease watch leaves: a route with the pool's prefix, and one to the router's /32.
            overlay.converge(held, List.of(router, remote));
            String vtepBefore = sh("ip", "-n", ns, "-d", "link", "show", "silk-vtep");

            Files.delete(dir.resolve("lease.json"));
            fake.newDatabase(Map.of("10.0.0.7", router.subnet().toString(), "10.0.0.6", remote.subnet().toString()));

            LeaseKeeper after = new LeaseKeeper(Cells.config(fake, dir), controller, new KernelOverlay(netlink, "silk-vtep"),
                    second);
            assertThat(after.establish()).isTrue();

            assertThat(after.lease()).isEqualTo(held);
            assertThat(fake.calls()).containsExactly("Acquire " + CELL, "Renew " + CELL + " " + held.subnet());
            assertThat(sh("ip", "-n", ns, "-d", "link", "show", "silk-vtep")).as("the vtep is kept as it was")
                    .isEqualTo(vtepBefore);
        }
    }
}
