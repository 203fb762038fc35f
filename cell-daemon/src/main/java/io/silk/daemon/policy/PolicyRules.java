package io.silk.daemon.policy;

import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.SecurityGroup;
import io.silk.proto.v1.SecurityGroupBinding;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The cell's policy, rendered as iptables-restore input, as cf-networking enforces it:
 * <ul>
 *   <li>mangle: packets leaving a container of app S get S's tag as their mark; VXLAN-GBP
 *       carries the mark to the destination cell;</li>
 *   <li>filter: a container of app D accepts traffic only where a policy allows S → D on that
 *       protocol and port (matched on the mark); replies of allowed connections pass; everything
 *       else to containers is rejected. Containers reach the outside only where an egress policy
 *       allows;</li>
 *   <li>nat: egress is masqueraded to the cell's address; overlay traffic is not.</li>
 * </ul>
 * Each update is one iptables-restore commit per table (atomic: traffic that stays allowed never
 * sees a gap), and rewrites only the chains that changed: each container has chains of its own,
 * so one policy change among thousands touches a few small chains.
 */
public final class PolicyRules {

    public static final String MARK_CHAIN = "silk-mark";
    public static final String FORWARD_CHAIN = "silk-forward";
    public static final String NAT_CHAIN = "silk-masquerade";

    /**
     * A container on this cell, the app it belongs to ("" for none) and the host ports that reach it
     * from outside the overlay (NetIn).
     */
    public record LocalContainer(String ip, io.silk.daemon.ipam.ContainerMetadata metadata) {

        public LocalContainer(String ip, String appId) {
            this(ip, io.silk.daemon.ipam.ContainerMetadata.app(appId));
        }

        public LocalContainer(String ip, String appId, java.util.List<io.silk.daemon.ipam.ContainerMetadata.PortMapping> portMappings) {
            this(ip, new io.silk.daemon.ipam.ContainerMetadata(appId, "", "", "", portMappings));
        }

        public String appId() {
            return metadata.appId();
        }

        public java.util.List<io.silk.daemon.ipam.ContainerMetadata.PortMapping> portMappings() {
            return metadata.portMappings();
        }
    }

    /**
     * Everything the rules depend on. {@code securityGroups}: every group the controller sent, and
     * {@code bindings} those of the spaces on this cell (enforced when security groups are dynamic).
     */
    public record Inputs(String localSubnet, String overlayNetwork, Collection<LocalContainer> containers,
            Collection<C2CPolicy> c2c, Collection<EgressPolicy> egress, Collection<SecurityGroup> securityGroups,
            Collection<SecurityGroupBinding> bindings, boolean logDenied) {

        public Inputs(String localSubnet, String overlayNetwork, Collection<LocalContainer> containers,
                Collection<C2CPolicy> c2c, Collection<EgressPolicy> egress, boolean logDenied) {
            this(localSubnet, overlayNetwork, containers, c2c, egress, List.of(), List.of(), logDenied);
        }
    }

    private PolicyRules() {}

    /**
     * The rules as chains: per table, chain name to its rules in order. Each container has its
     * own ingress and egress chain, so a policy change rewrites only the chains of the containers
     * it concerns (see {@link #diff}).
     */
    public record Rendered(Map<String, Map<String, List<String>>> tables) {

        /** iptables-restore input that writes every chain. */
        public String full() {
            return diff(null);
        }

        /** iptables-restore input that rewrites only the chains that differ from {@code before}. */
        public String diff(Rendered before) {
            StringBuilder b = new StringBuilder();
            tables.forEach((table, chains) -> {
                Map<String, List<String>> old = before == null ? Map.of() : before.tables().getOrDefault(table, Map.of());
                List<String> changed = chains.keySet().stream()
                        .filter(c -> before == null || !chains.get(c).equals(old.get(c))).toList();
                if (changed.isEmpty()) {
                    return;
                }
                b.append('*').append(table).append('\n');
                // Declaring a chain in --noflush mode empties it; all declarations come first so
                // jumps to new chains resolve within the same atomic commit.
                changed.forEach(c -> b.append(':').append(c).append(" - [0:0]\n"));
                changed.forEach(c -> chains.get(c).forEach(rule -> b.append("-A ").append(c).append(' ').append(rule).append('\n')));
                b.append("COMMIT\n");
            });
            return b.toString();
        }

        /** Chains that {@code before} had and this does not (containers gone): to be flushed and deleted. */
        public Map<String, List<String>> dropped(Rendered before) {
            Map<String, List<String>> gone = new LinkedHashMap<>();
            if (before != null) {
                before.tables().forEach((table, chains) -> chains.keySet().forEach(c -> {
                    if (!tables.getOrDefault(table, Map.of()).containsKey(c)) {
                        gone.computeIfAbsent(table, t -> new ArrayList<>()).add(c);
                    }
                }));
            }
            return gone;
        }
    }

    static String inChain(LocalContainer c) {
        return "silk-in-" + c.ip();
    }

    static String outChain(LocalContainer c) {
        return "silk-out-" + c.ip();
    }

    public static Rendered render(Inputs in) {
        Map<String, Integer> tags = tags(in);
        Map<String, Map<String, List<String>>> tables = new LinkedHashMap<>();

        List<String> mark = new ArrayList<>();
        for (LocalContainer c : in.containers()) {
            Integer tag = tags.get(c.appId());
            if (tag != null) {
                mark.add("-s " + c.ip() + "/32 -j MARK --set-xmark " + hex(tag) + "/0xffff");
            }
        }
        tables.put("mangle", new LinkedHashMap<>(Map.of(MARK_CHAIN, mark)));

        Map<String, List<String>> filter = new LinkedHashMap<>();
        List<String> forward = new ArrayList<>();
        forward.add("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
        Map<String, List<LocalContainer>> byApp = new LinkedHashMap<>();
        for (LocalContainer c : in.containers()) {
            byApp.computeIfAbsent(c.appId(), k -> new ArrayList<>()).add(c);
            filter.put(inChain(c), new ArrayList<>());
            filter.put(outChain(c), new ArrayList<>());
            forward.add("-d " + c.ip() + "/32 -j " + inChain(c));
        }
        for (C2CPolicy p : in.c2c()) {
            for (LocalContainer c : byApp.getOrDefault(p.getDestinationId(), List.of())) {
                filter.get(inChain(c)).add("-p " + p.getProtocol() + " -m " + p.getProtocol() + " --dport "
                        + ports(p.getStartPort(), p.getEndPort()) + " -m mark --mark " + hex(p.getSourceTag()) + "/0xffff -j ACCEPT");
            }
        }
        // NetIn: traffic DNAT'ed in from outside the overlay (the router through a port mapping) is
        // not C2C traffic; C2C default deny applies to the overlay only.
        forward.add("-d " + in.localSubnet() + " ! -s " + in.overlayNetwork() + " -m conntrack --ctstate DNAT -j ACCEPT");
        deny(forward, in, "-d " + in.localSubnet(), "silk-deny-in ");
        // Towards other cells' containers: their cells decide.
        forward.add("-s " + in.localSubnet() + " -d " + in.overlayNetwork() + " -j ACCEPT");
        for (LocalContainer c : in.containers()) {
            forward.add("-s " + c.ip() + "/32 -j " + outChain(c));
        }
        for (EgressPolicy e : in.egress()) {
            for (LocalContainer c : byApp.getOrDefault(e.getSourceId(), List.of())) {
                StringBuilder r = new StringBuilder("-m iprange --dst-range ").append(e.getStartIp()).append('-').append(e.getEndIp());
                switch (e.getProtocol()) {
                    case "tcp", "udp" -> {
                        r.append(" -p ").append(e.getProtocol());
                        if (e.getStartPort() > 0) {
                            r.append(" -m ").append(e.getProtocol()).append(" --dport ").append(ports(e.getStartPort(), e.getEndPort()));
                        }
                    }
                    case "icmp" -> {
                        r.append(" -p icmp");
                        if (e.getIcmpType() >= 0) {
                            r.append(" -m icmp --icmp-type ").append(e.getIcmpType());
                            if (e.getIcmpCode() >= 0) {
                                r.append('/').append(e.getIcmpCode());
                            }
                        }
                    }
                    default -> { }
                }
                filter.get(outChain(c)).add(r.append(" -j ACCEPT").toString());
            }
        }
        deny(forward, in, "-s " + in.localSubnet(), "silk-deny-out ");
        Map<String, List<String>> filterOrdered = new LinkedHashMap<>(filter);
        filterOrdered.put(FORWARD_CHAIN, forward);
        tables.put("filter", filterOrdered);

        tables.put("nat", new LinkedHashMap<>(Map.of(NAT_CHAIN,
                List.of("-s " + in.localSubnet() + " ! -d " + in.overlayNetwork() + " -j MASQUERADE"))));
        return new Rendered(tables);
    }

    private static void deny(List<String> chain, Inputs in, String match, String prefix) {
        if (in.logDenied()) {
            chain.add(match + " -m limit --limit 10/second -j LOG --log-prefix \"" + prefix + "\"");
        }
        chain.add(match + " -j REJECT --reject-with icmp-port-unreachable");
    }

    /** The tag of every app the policies name, as the controller sent it. */
    static Map<String, Integer> tags(Inputs in) {
        Map<String, Integer> tags = new LinkedHashMap<>();
        for (C2CPolicy p : in.c2c()) {
            tags.put(p.getSourceId(), p.getSourceTag());
            tags.put(p.getDestinationId(), p.getDestinationTag());
        }
        for (EgressPolicy e : in.egress()) {
            tags.put(e.getSourceId(), e.getSourceTag());
        }
        return tags;
    }

    private static String ports(int start, int end) {
        return start == end ? String.valueOf(start) : start + ":" + end;
    }

    private static String hex(int tag) {
        return String.format(Locale.ROOT, "0x%x", tag);
    }
}
