package io.silk.daemon.lease;

import static io.silk.daemon.Cells.CELL;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.silk.daemon.Cells;
import io.silk.daemon.MutableClock;
import io.silk.daemon.TestLeases;
import io.silk.testing.Eventually;
import io.silk.daemon.controller.GrpcController;
import io.silk.daemon.ipam.AddressBook;
import io.silk.daemon.state.CellState;
import io.silk.daemon.vtep.InMemoryOverlay;
import io.silk.daemon.vtep.VtepInKernel;
import io.silk.testing.FakeController;
import io.silk.values.Ipv4Network;
import io.silk.values.SilkMacs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the cell does with its lease, branch by branch, against a fake controller and an overlay as data. */
class LeaseKeeperTest {

    @TempDir
    Path dir;

    FakeController fake;
    GrpcController controller;
    final CellState cell = new CellState();
    final InMemoryOverlay overlay = new InMemoryOverlay();
    final MutableClock clock = new MutableClock();

    void start(String network, int prefix) {
        fake = FakeController.start(network, prefix);
        controller = Cells.controller(fake);
    }

    LeaseKeeper keeper() {
        return new LeaseKeeper(Cells.config(fake, dir), controller, overlay, cell, clock);
    }

    @AfterEach
    void stop() {
        cell.close();
        if (controller != null) {
            controller.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    static AddressBook.Attachment container(String ip) {
        return new AddressBook.Attachment("ctr-" + ip, "eth0", ip, "s-" + ip, "app-a");
    }

    List<String> acquires() {
        return fake.calls().stream().filter(c -> c.startsWith("Acquire")).toList();
    }

    @Test
    void aCellWithoutALeaseAcquiresOneAndProgramsItsVtep() {
        start("10.255.0.0/16", 24);
        LeaseKeeper keeper = keeper();

        assertThat(keeper.establish()).isTrue();

        assertThat(fake.calls()).containsExactly("Acquire " + CELL);
        assertThat(keeper.lease().subnet()).hasToString("10.255.1.0/24");
        assertThat(overlay.vtep()).isEqualTo(keeper.lease());
        assertThat(cell.current().lease()).isEqualTo(keeper.lease());
        assertThat(cell.current().mtu()).isEqualTo(1450);
        assertThat(Files.exists(dir.resolve("lease.json"))).isTrue();
        assertThat(keeper.problem()).isNull();
    }

    @Test
    void aRestartedDaemonRenewsTheLeaseOfItsStateFileInsteadOfAcquiring() {
        start("10.255.0.0/16", 24);
        keeper().establish();
        HeldLease before = overlay.vtep();

        LeaseKeeper restarted = new LeaseKeeper(Cells.config(fake, dir), controller, new InMemoryOverlay(), new CellState(), clock);
        assertThat(restarted.establish()).isTrue();

        assertThat(restarted.lease()).isEqualTo(before);
        assertThat(fake.calls()).containsExactly("Acquire " + CELL, "Renew " + CELL + " 10.255.1.0/24");
    }

    @Test
    void renewsNameTheDatabaseThatGrantedTheLeaseAcrossRestartsAndFollowANewOne() {
        start("10.255.0.0/16", 24);
        keeper().establish();
        String first = fake.databaseId();

        // A restarted daemon still names the database of its lease: a controller on a new database learns from it.
        LeaseKeeper restarted = new LeaseKeeper(Cells.config(fake, dir), controller, new InMemoryOverlay(), new CellState(), clock);
        restarted.establish();
        assertThat(fake.renews()).extracting(r -> r.getDatabaseId()).containsExactly(first);

        fake.newDatabase(java.util.Map.of());
        restarted.establish(); // re-adopted into the new database, still naming the old one
        restarted.establish(); // from now on, the new one
        assertThat(fake.renews()).extracting(r -> r.getDatabaseId()).containsExactly(first, first, fake.databaseId());
        assertThat(fake.databaseId()).isNotEqualTo(first);
    }

    @Test
    void aLeaseLostWhileContainersRunIsKeptReportedUnhealthyAndNeverMoved() {
        start("10.255.0.0/16", 24);
        LeaseKeeper keeper = keeper();
        keeper.establish();
        HeldLease held = keeper.lease();
        cell.containers(List.of(container("10.255.1.2")));
        fake.giveLeaseTo(CELL, "10.0.0.99");

        for (int renew = 0; renew < 3; renew++) {
            assertThat(keeper.establish()).isTrue();
        }

        assertThat(keeper.lease()).isEqualTo(held);
        assertThat(overlay.vtep()).as("the vtep is not moved").isEqualTo(held);
        assertThat(overlay.operations()).containsExactly("vtep 10.255.1.0/24");
        assertThat(acquires()).as("no new subnet while containers run").hasSize(1);
        assertThat(keeper.problem()).contains("lease 10.255.1.0/24 lost", "1 containers still run here",
                "keeping it locally");
    }

    @Test
    void aLeaseLostWithNoContainersIsReplacedByANewSubnet() {
        start("10.255.0.0/16", 24);
        LeaseKeeper keeper = keeper();
        keeper.establish();
        fake.giveLeaseTo(CELL, "10.0.0.99");

        assertThat(keeper.establish()).isTrue();

        assertThat(acquires()).hasSize(2);
        assertThat(keeper.lease().subnet()).hasToString("10.255.2.0/24");
        assertThat(overlay.vtep().subnet()).hasToString("10.255.2.0/24");
        assertThat(cell.current().lease().subnet()).hasToString("10.255.2.0/24");
        assertThat(keeper.problem()).isNull();
    }

    /** No state file, a controller that lost its database: the routes on the VTEP name the pool's prefix. */
    @ParameterizedTest(name = "/{0} in /16")
    @ValueSource(ints = {24, 20, 26})
    void withoutAStateFileTheLeaseIsRecoveredFromTheVtepAndItsRoutes(int prefix) {
        start("10.255.0.0/16", prefix);
        Ipv4Network subnet = new Ipv4Network(new io.silk.values.Ipv4Address(0x0aff0000 + (3 << (32 - prefix))), prefix);
        overlay.leftBehind(new VtepInKernel(subnet.base(), 16, SilkMacs.vtep(subnet), OptionalInt.of(prefix)));
        LeaseKeeper keeper = keeper();

        assertThat(keeper.establish()).isTrue();

        assertThat(fake.calls()).containsExactly("Renew " + CELL + " " + subnet);
        assertThat(keeper.lease()).isEqualTo(new HeldLease(TestLeases.ip(CELL), subnet, SilkMacs.vtep(subnet),
                TestLeases.net("10.255.0.0/16")));
        assertThat(fake.leases().get(CELL).getOverlaySubnet()).as("re-inserted where it was").isEqualTo(subnet.toString());
    }

    /** No state file and no routes (a lone cell): the controller's own record names the subnet. */
    @ParameterizedTest(name = "/{0} in /16")
    @ValueSource(ints = {24, 20, 26})
    void withoutAStateFileOrRoutesThePrefixComesFromTheControllersLeases(int prefix) {
        start("10.255.0.0/16", prefix);
        Ipv4Network subnet = new Ipv4Network(new io.silk.values.Ipv4Address(0x0aff0000 + (5 << (32 - prefix))), prefix);
        fake.putLease(CELL, subnet.toString());
        overlay.leftBehind(new VtepInKernel(subnet.base(), 16, SilkMacs.vtep(subnet), OptionalInt.empty()));
        LeaseKeeper keeper = keeper();

        assertThat(keeper.establish()).isTrue();

        assertThat(fake.calls()).containsExactly("List", "Renew " + CELL + " " + subnet);
        assertThat(keeper.lease().subnet()).hasToString(subnet.toString());
        assertThat(keeper.lease().overlayNetwork()).hasToString("10.255.0.0/16");
    }

    @Test
    void aVtepThatCannotBeNamedIsNotReplacedWhileContainersRun() {
        start("10.255.0.0/16", 24);
        overlay.leftBehind(new VtepInKernel(new io.silk.values.Ipv4Address(0x0aff0700), 16, TestLeases.mac("ee:ee:0a:ff:07:00"),
                OptionalInt.empty()));
        cell.containers(List.of(container("10.255.7.2")));
        LeaseKeeper keeper = keeper();

        assertThat(keeper.establish()).isFalse();

        assertThat(acquires()).isEmpty();
        assertThat(keeper.lease()).isNull();
        assertThat(keeper.problem()).contains("10.255.7.0", "without its prefix");
    }

    @Test
    void aRefusedRenewKeepsTheLeaseAndSaysWhyUntilARenewSucceeds() {
        start("10.255.0.0/16", 24);
        LeaseKeeper keeper = keeper();
        keeper.establish();
        HeldLease held = keeper.lease();
        fake.refuseRenew(Status.PERMISSION_DENIED.withDescription("the certificate names 10.0.0.6"));

        assertThat(keeper.establish()).isFalse();

        assertThat(keeper.lease()).isEqualTo(held);
        assertThat(overlay.vtep()).isEqualTo(held);
        assertThat(acquires()).hasSize(1);
        assertThat(keeper.problem()).isEqualTo("the controller refused the lease: PERMISSION_DENIED: the certificate names 10.0.0.6");

        fake.refuseRenew(null);
        assertThat(keeper.establish()).isTrue();
        assertThat(keeper.problem()).isNull();
    }

    @Test
    void anUnreachableControllerPastThePartitionLimitMakesTheCellUnhealthyButItKeepsItsLease() {
        start("10.255.0.0/16", 24);
        LeaseKeeper keeper = keeper();
        keeper.establish();
        HeldLease held = keeper.lease();
        fake.unreachable();

        clock.advance(Duration.ofMinutes(59));
        assertThat(keeper.establish()).isFalse();
        assertThat(keeper.problem()).as("within the partition tolerance (1h)").isNull();

        clock.advance(Duration.ofMinutes(2));
        assertThat(keeper.establish()).isFalse();
        assertThat(keeper.problem()).isEqualTo("no successful renew for 3660s (partition tolerance 3600s)");
        assertThat(keeper.lease()).isEqualTo(held);
        assertThat(overlay.vtep()).isEqualTo(held);
        assertThat(acquires()).hasSize(1);

        fake.reachable();
        clock.advance(Duration.ofSeconds(1));
        Eventually.await("a renew succeeds once the controller is back", keeper::establish);
        assertThat(keeper.problem()).isNull();
        assertThat(keeper.lease()).isEqualTo(held);
    }

    @Test
    void aControllerUnreachableAtStartLeavesTheCellOnTheLeaseOfItsStateFile() {
        start("10.255.0.0/16", 24);
        keeper().establish();
        HeldLease before = overlay.vtep();
        fake.unreachable();
        CellState restartedCell = new CellState();
        InMemoryOverlay restartedOverlay = new InMemoryOverlay();

        LeaseKeeper restarted = new LeaseKeeper(Cells.config(fake, dir), controller, restartedOverlay, restartedCell, clock);
        assertThat(restarted.establish()).isFalse();

        assertThat(restarted.lease()).isEqualTo(before);
        assertThat(restartedOverlay.vtep()).isEqualTo(before);
        assertThat(restartedCell.current().lease()).isEqualTo(before);
        assertThat(restarted.problem()).isNull();
        restartedCell.close();
    }
}
