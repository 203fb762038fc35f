package io.silk.cli;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.silk.proto.v1.AcquireRequest;
import io.silk.proto.v1.Lease;
import io.silk.proto.v1.LeaseEvent;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.ListRequest;
import io.silk.proto.v1.ReleaseRequest;
import io.silk.proto.v1.WatchRequest;
import io.silk.proto.v1.WatchResponse;
import java.io.File;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code silk}: the operator's command line, for leases (gRPC, to the controller) and network
 * policies (REST, to the policy server). Exit codes: 0 done, 1 refused (bad input, permission,
 * mismatch, exhausted, quota), 2 usage error, 3 controller, policy server or database unavailable
 * (retry later).
 */
@Command(name = "silk", mixinStandardHelpOptions = true, version = "silk 0.1.0",
        description = "Operate a silk overlay network.",
        subcommands = {SilkCommand.Leases.class, SilkCommand.AcquireLease.class, SilkCommand.ReleaseLease.class,
                SilkCommand.WatchLeases.class, PolicyCommands.Add.class, PolicyCommands.Remove.class,
                PolicyCommands.ListPolicies.class, PolicyCommands.AddEgress.class, PolicyCommands.RemoveEgress.class,
                PolicyCommands.ListEgress.class, PolicyCommands.Apply.class, FlowsCommand.class,
                SecurityGroupCommands.Create.class, SecurityGroupCommands.Update.class, SecurityGroupCommands.Delete.class,
                SecurityGroupCommands.ListGroups.class, SecurityGroupCommands.Show.class, SecurityGroupCommands.Bind.class,
                SecurityGroupCommands.Unbind.class, SecurityGroupCommands.BindRunning.class, SecurityGroupCommands.BindStaging.class,
                SecurityGroupCommands.UnbindRunning.class, SecurityGroupCommands.UnbindStaging.class,
                SecurityGroupCommands.ListRunning.class, SecurityGroupCommands.ListStaging.class})
public final class SilkCommand {

    public static final int REFUSED = 1;
    public static final int UNAVAILABLE = 3;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new SilkCommand()).setOut(out).setErr(err);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof StatusRuntimeException s) {
                Status status = s.getStatus();
                cmd.getErr().println("silk: " + (status.getDescription() == null ? "" : status.getDescription())
                        + " (" + status.getCode() + ")");
                return switch (status.getCode()) {
                    case UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED -> UNAVAILABLE;
                    default -> REFUSED;
                };
            }
            if (e instanceof PolicyClient.ApiFailure f) {
                cmd.getErr().println("silk: " + f.getMessage());
                return f.retriable ? UNAVAILABLE : REFUSED;
            }
            if (e instanceof IllegalArgumentException || e instanceof SSLException) {
                cmd.getErr().println("silk: " + e.getMessage());
                return cmd.getCommandSpec().exitCodeOnInvalidInput();
            }
            throw e;
        });
        return cli.execute(args);
    }

    /** Where the controller is and how to prove who we are. */
    static final class Connection {
        @Option(names = "--controller", defaultValue = "${env:SILK_CONTROLLER:-localhost:7443}",
                description = "Controller host:port (env SILK_CONTROLLER; default ${DEFAULT-VALUE}).")
        String controller;

        @Option(names = "--ca", defaultValue = "${env:SILK_CA}", description = "CA bundle (PEM) the controller's certificate chains to (env SILK_CA).")
        File ca;

        @Option(names = "--cert", defaultValue = "${env:SILK_CERT}", description = "Client certificate (PEM) (env SILK_CERT).")
        File cert;

        @Option(names = "--key", defaultValue = "${env:SILK_KEY}", description = "Client private key, PKCS#8 PEM (env SILK_KEY).")
        File key;

        @Option(names = "--plaintext", description = "No TLS (only for a controller run with TLS off, for local development).")
        boolean plaintext;

        @Option(names = "--timeout", defaultValue = "10", description = "Seconds to wait for an answer (default ${DEFAULT-VALUE}).")
        long timeoutSeconds;

        ManagedChannel open() throws SSLException {
            int colon = controller.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--controller \"" + controller + "\" must be host:port");
            }
            var builder = NettyChannelBuilder.forAddress(controller.substring(0, colon),
                    Integer.parseInt(controller.substring(colon + 1)));
            if (plaintext) {
                return builder.usePlaintext().build();
            }
            if (ca == null) {
                throw new IllegalArgumentException("--ca (or SILK_CA) is required unless --plaintext");
            }
            var ssl = GrpcSslContexts.forClient().trustManager(ca);
            if (cert != null || key != null) {
                if (cert == null || key == null) {
                    throw new IllegalArgumentException("--cert and --key go together");
                }
                ssl.keyManager(cert, key);
            }
            return builder.sslContext(ssl.build()).build();
        }

        /** Runs one call on a fresh channel, closed afterwards. */
        <T> T call(ChannelCall<T> call) throws Exception {
            ManagedChannel channel = open();
            try {
                return call.apply(channel,
                        LeaseServiceGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS));
            } finally {
                channel.shutdownNow();
            }
        }
    }

    interface ChannelCall<T> {
        T apply(ManagedChannel channel, LeaseServiceGrpc.LeaseServiceBlockingStub leases) throws Exception;
    }

    @Command(name = "leases", description = "List the routable leases.")
    static final class Leases implements Callable<Integer> {
        @Mixin Connection connection;
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            var response = connection.call((ch, leases) -> leases.list(ListRequest.getDefaultInstance()));
            List<Lease> leases = response.getLeasesList().stream()
                    .sorted(Comparator.comparing(Lease::getUnderlayIp)).toList();
            PrintWriter out = spec.commandLine().getOut();
            out.printf("overlay network %s, revision %d, %d leases%n%n", response.getOverlayNetwork(),
                    response.getRevision(), leases.size());
            // List carries the expiry written with each lease's last change; renewals write none.
            out.printf("%-16s %-18s %-18s %-24s%n", "underlay ip", "overlay subnet", "vtep mac", "expires (at last change)");
            for (Lease l : leases) {
                out.printf("%-16s %-18s %-18s %-24s%n", l.getUnderlayIp(), l.getOverlaySubnet(),
                        l.getOverlayHardwareAddr(), Instant.ofEpochSecond(l.getExpiresAt().getSeconds()));
            }
            return 0;
        }
    }

    @Command(name = "acquire-lease", description = "Acquire (or get back) the lease of a cell.")
    static final class AcquireLease implements Callable<Integer> {
        @Mixin Connection connection;
        @Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--cell", defaultValue = "", description = "Underlay IP of the cell (default: the cell the certificate names).")
        String cell;

        @Override
        public Integer call() throws Exception {
            Lease l = connection.call((ch, leases) ->
                    leases.acquire(AcquireRequest.newBuilder().setUnderlayIp(cell).build()).getLease());
            spec.commandLine().getOut().printf("%s %s %s%n", l.getUnderlayIp(), l.getOverlaySubnet(), l.getOverlayHardwareAddr());
            return 0;
        }
    }

    @Command(name = "release-lease", description = "Release the lease of a cell (succeeds if it holds none).")
    static final class ReleaseLease implements Callable<Integer> {
        @Mixin Connection connection;
        @Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--cell", required = true, description = "Underlay IP of the cell.")
        String cell;

        @Override
        public Integer call() throws Exception {
            boolean released = connection.call((ch, leases) ->
                    leases.release(ReleaseRequest.newBuilder().setUnderlayIp(cell).build()).getReleased());
            spec.commandLine().getOut().println(released ? "released " + cell : cell + " held no lease");
            return 0;
        }
    }

    @Command(name = "watch-leases", description = "Stream lease changes: a snapshot, then every change.")
    static final class WatchLeases implements Callable<Integer> {
        @Mixin Connection connection;
        @Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--from", defaultValue = "0", description = "Resume after this revision (0: snapshot first).")
        long from;

        @Option(names = "--count", defaultValue = "0", description = "Stop after this many messages (0: never).")
        int count;

        @Override
        public Integer call() throws Exception {
            return connection.call((channel, unused) -> {
                // No deadline: a watch runs until --count messages or Ctrl-C.
                Iterator<WatchResponse> stream = LeaseServiceGrpc.newBlockingStub(channel)
                        .watch(WatchRequest.newBuilder().setFromRevision(from).build());
                PrintWriter out = spec.commandLine().getOut();
                for (int n = 0; (count == 0 || n < count) && stream.hasNext(); n++) {
                    WatchResponse r = stream.next();
                    if (r.getReset()) {
                        out.printf("revision %d snapshot: %d routable leases%n", r.getRevision(), r.getLeasesCount());
                        r.getLeasesList().forEach(l -> out.printf("  %s %s%n", l.getUnderlayIp(), l.getOverlaySubnet()));
                    }
                    for (LeaseEvent e : r.getEventsList()) {
                        out.printf("revision %d %s %s %s%n", e.getRevision(), e.getKind(),
                                e.getLease().getUnderlayIp(), e.getLease().getOverlaySubnet());
                    }
                }
                return 0;
            });
        }
    }
}
