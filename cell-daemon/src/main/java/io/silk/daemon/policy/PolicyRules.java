package io.silk.daemon.policy;

import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
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
 * Each table is replaced whole in one iptables-restore commit, so an update is atomic: traffic
 * that stays allowed never sees a gap.
 */
public final class PolicyRules {

    public static final String MARK_CHAIN = "silk-mark";
    public static final String FORWARD_CHAIN = "silk-forward";
    public static final String NAT_CHAIN = "silk-masquerade";

    /** A container on this cell and the app it belongs to ("" for none). */
    public record LocalContainer(String ip, String appId) {}

    /** Everything the rules depend on. */
    public record Inputs(String localSubnet, String overlayNetwork, Collection<LocalContainer> containers,
            Collection<C2CPolicy> c2c, Collection<EgressPolicy> egress, boolean logDenied) {}

    private PolicyRules() {}

    public static String render(Inputs in) {
        Map<String, Integer> tags = tags(in);
        StringBuilder b = new StringBuilder();

        b.append("*mangle\n:").append(MARK_CHAIN).append(" - [0:0]\n");
        for (LocalContainer c : in.containers()) {
            Integer tag = tags.get(c.appId());
            if (tag != null) {
                b.append("-A ").append(MARK_CHAIN).append(" -s ").append(c.ip()).append("/32 -j MARK --set-xmark ")
                        .append(hex(tag)).append("/0xffff\n");
            }
        }
        b.append("COMMIT\n");

        b.append("*filter\n:").append(FORWARD_CHAIN).append(" - [0:0]\n");
        b.append("-A ").append(FORWARD_CHAIN).append(" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
        Map<String, List<LocalContainer>> byApp = new LinkedHashMap<>();
        for (LocalContainer c : in.containers()) {
            byApp.computeIfAbsent(c.appId(), k -> new ArrayList<>()).add(c);
        }
        for (C2CPolicy p : in.c2c()) {
            for (LocalContainer c : byApp.getOrDefault(p.getDestinationId(), List.of())) {
                b.append("-A ").append(FORWARD_CHAIN).append(" -d ").append(c.ip()).append("/32 -p ").append(p.getProtocol())
                        .append(" -m ").append(p.getProtocol()).append(" --dport ").append(ports(p.getStartPort(), p.getEndPort()))
                        .append(" -m mark --mark ").append(hex(p.getSourceTag())).append("/0xffff -j ACCEPT\n");
            }
        }
        deny(b, in, "-d " + in.localSubnet(), "silk-deny-in ");
        // Towards other cells' containers: their cells decide.
        b.append("-A ").append(FORWARD_CHAIN).append(" -s ").append(in.localSubnet()).append(" -d ")
                .append(in.overlayNetwork()).append(" -j ACCEPT\n");
        for (EgressPolicy e : in.egress()) {
            for (LocalContainer c : byApp.getOrDefault(e.getSourceId(), List.of())) {
                b.append("-A ").append(FORWARD_CHAIN).append(" -s ").append(c.ip()).append("/32")
                        .append(" -m iprange --dst-range ").append(e.getStartIp()).append('-').append(e.getEndIp());
                switch (e.getProtocol()) {
                    case "tcp", "udp" -> {
                        b.append(" -p ").append(e.getProtocol());
                        if (e.getStartPort() > 0) {
                            b.append(" -m ").append(e.getProtocol()).append(" --dport ").append(ports(e.getStartPort(), e.getEndPort()));
                        }
                    }
                    case "icmp" -> {
                        b.append(" -p icmp");
                        if (e.getIcmpType() >= 0) {
                            b.append(" -m icmp --icmp-type ").append(e.getIcmpType());
                            if (e.getIcmpCode() >= 0) {
                                b.append('/').append(e.getIcmpCode());
                            }
                        }
                    }
                    default -> { }
                }
                b.append(" -j ACCEPT\n");
            }
        }
        deny(b, in, "-s " + in.localSubnet(), "silk-deny-out ");
        b.append("COMMIT\n");

        b.append("*nat\n:").append(NAT_CHAIN).append(" - [0:0]\n");
        b.append("-A ").append(NAT_CHAIN).append(" -s ").append(in.localSubnet()).append(" ! -d ").append(in.overlayNetwork())
                .append(" -j MASQUERADE\n");
        b.append("COMMIT\n");
        return b.toString();
    }

    private static void deny(StringBuilder b, Inputs in, String match, String prefix) {
        if (in.logDenied()) {
            b.append("-A ").append(FORWARD_CHAIN).append(' ').append(match)
                    .append(" -m limit --limit 10/second -j LOG --log-prefix \"").append(prefix).append("\"\n");
        }
        b.append("-A ").append(FORWARD_CHAIN).append(' ').append(match).append(" -j REJECT --reject-with icmp-port-unreachable\n");
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
