package io.silk.daemon.policy.nftables;

/**
 * The daemon's one nftables table, {@code inet silk}: its sets and chains, without elements. The
 * chains depend only on the cell's subnet, the overlay network and the logging switches, so a
 * policy change never rewrites them; policies live in the sets.
 *
 * <pre>
 * prerouting (mangle)  meta mark ← container_tag[ip saddr]       packets leave with their app's tag (VXLAN-GBP)
 * prerouting_nat, output_nat (dstnat)  to a local address: dnat to port_mappings[proto . port]   (NetIn)
 * forward (filter)     established/related → accept
 *                      DNAT'ed in from outside the overlay → accept (C2C deny is for the overlay); with an
 *                        ingress tag: marked with it and judged by c2c_ingress like overlay traffic
 *                      to the cell's subnet   → c2c_ingress:  daddr . mark . proto . dport in c2c_port / c2c_range
 *                      from the cell's subnet → container_egress: to the overlay accept; deny networks reject;
 *                                                 mark ← container_profile[ip saddr]; mark . daddr . proto . dport
 *                                                 in egress, or icmp mark . daddr . type . code in egress_icmp
 *                      anything else of a container → counted, logged (NFLOG), rejected
 * postrouting (srcnat) from the subnet to outside the overlay → masquerade
 * </pre>
 */
public record Ruleset(String subnet, String overlay, Logging logging, DenyNetworks deny, int ingressTag) {

    public Ruleset(String subnet, String overlay, Logging logging) {
        this(subnet, overlay, logging, DenyNetworks.NONE, 0);
    }

    public Ruleset(String subnet, String overlay, Logging logging, DenyNetworks deny) {
        this(subnet, overlay, logging, deny, 0);
    }

    /**
     * Destinations outside the overlay no container may reach whatever allows it (Cloud Foundry's
     * {@code deny_networks}): for every container, for running ones (apps and tasks), for staging
     * ones. Each entry a CIDR or a range {@code a.b.c.d-e.f.g.h}.
     */
    public record DenyNetworks(java.util.List<String> always, java.util.List<String> running, java.util.List<String> staging) {
        public static final DenyNetworks NONE = new DenyNetworks(java.util.List.of(), java.util.List.of(), java.util.List.of());

        public DenyNetworks {
            always = java.util.List.copyOf(always);
            running = java.util.List.copyOf(running);
            staging = java.util.List.copyOf(staging);
        }
    }

    public static final String FAMILY_AND_TABLE = "inet silk";
    public static final String PREFIX_DENY_IN = "silk-deny-in";
    public static final String PREFIX_DENY_OUT = "silk-deny-out";
    public static final String PREFIX_ALLOW_IN = "silk-allow-in";
    public static final String PREFIX_ALLOW_OUT = "silk-allow-out";

    /**
     * What the kernel logs to NFLOG {@code group}: denied packets (at most {@code rate} a second),
     * new connections a C2C policy lets in ({@code accepted}, cf's C2C logging), and new connections
     * let out of the overlay ({@code egressAccepted}, cf's global security-group logging; without it
     * only the rules with {@code log: true}).
     */
    public record Logging(boolean denied, boolean accepted, int group, int rate, boolean egressAccepted) {
        public static final Logging OFF = new Logging(false, false, 0, 0);

        public Logging(boolean denied, boolean accepted, int group, int rate) {
            this(denied, accepted, group, rate, false);
        }
    }

    static final String CONTAINER_TAG = "container_tag";
    static final String PORT_MAPPINGS = "port_mappings";
    static final String C2C_PORT = "c2c_port";
    static final String C2C_RANGE = "c2c_range";
    static final String CONTAINER_PROFILE = "container_profile";
    static final String EGRESS = "egress";
    static final String EGRESS_ICMP = "egress_icmp";
    static final String EGRESS_LOGGED = "egress_logged";
    static final String STAGING_CONTAINERS = "staging_containers";
    static final String[] SETS = {CONTAINER_TAG, PORT_MAPPINGS, STAGING_CONTAINERS, C2C_PORT, C2C_RANGE, CONTAINER_PROFILE, EGRESS,
        EGRESS_ICMP, EGRESS_LOGGED};
    static final String[] CHAINS = {"prerouting", "prerouting_nat", "output_nat", "forward", "c2c_ingress", "c2c_allowed", "container_egress", "postrouting"};

    /** The table's sets and chains as one nft {@code table} block; chain bodies follow in {@link #chainRules}. */
    String declarations() {
        return """
                table inet silk {
                  map container_tag { type ipv4_addr : mark; }
                  map port_mappings { type inet_proto . inet_service : ipv4_addr . inet_service; }
                  set c2c_port { type ipv4_addr . mark . inet_proto . inet_service; counter; }
                  set c2c_range { type ipv4_addr . mark . inet_proto . inet_service; flags interval; counter; }
                  map container_profile { type ipv4_addr : mark; }
                  set egress { type mark . ipv4_addr . inet_proto . inet_service; flags interval; counter; }
                  set egress_icmp { type mark . ipv4_addr . icmp_type . icmp_code; flags interval; counter; }
                  set egress_logged { type mark . ipv4_addr . inet_proto . inet_service; flags interval; }
                  set staging_containers { type ipv4_addr; }
                  chain prerouting { type filter hook prerouting priority mangle; policy accept; }
                  chain prerouting_nat { type nat hook prerouting priority dstnat; policy accept; }
                  chain output_nat { type nat hook output priority -100; policy accept; }
                  chain forward { type filter hook forward priority filter; policy accept; }
                  chain c2c_ingress { }
                  chain c2c_allowed { }
                  chain container_egress { }
                  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }
                }
                """;
    }

    /** Flushes every chain and writes its rules: the whole of the table but the set elements. */
    String chainRules() {
        StringBuilder b = new StringBuilder();
        for (String c : CHAINS) {
            b.append("flush chain inet silk ").append(c).append('\n');
        }
        rule(b, "prerouting", "meta mark set ip saddr map @container_tag");
        // NetIn: a host port of the cell's own addresses reaches the container it is mapped to.
        rule(b, "prerouting_nat", "fib daddr type local dnat ip to meta l4proto . th dport map @port_mappings");
        rule(b, "output_nat", "fib daddr type local dnat ip to meta l4proto . th dport map @port_mappings");
        rule(b, "forward", "ct state established,related accept");
        // Traffic DNAT'ed in from outside the overlay (the router, through our port mappings or a
        // chained portmap) is not C2C traffic: C2C default deny applies to the overlay only. With an
        // ingress tag (cf's ingress_tag) it is the router's traffic, as a C2C source: a policy from
        // the group of that tag lets it in, as for any app.
        rule(b, "forward", "ip daddr " + subnet + " ip saddr != " + overlay + " ct status dnat "
                + (ingressTag > 0 ? "meta mark set " + String.format("0x%x", ingressTag) + " goto c2c_ingress" : "accept"));
        rule(b, "forward", "ip daddr " + subnet + " jump c2c_ingress");
        rule(b, "forward", "ip saddr " + subnet + " jump container_egress");
        String allowed = logging.accepted() ? "goto c2c_allowed" : "accept";
        rule(b, "c2c_ingress", "ip daddr . meta mark . meta l4proto . th dport @c2c_port " + allowed);
        rule(b, "c2c_ingress", "ip daddr . meta mark . meta l4proto . th dport @c2c_range " + allowed);
        deny(b, "c2c_ingress", PREFIX_DENY_IN);
        if (logging.accepted()) {
            rule(b, "c2c_allowed", "ct state new log group " + logging.group() + " prefix \"" + PREFIX_ALLOW_IN + "\"");
        }
        rule(b, "c2c_allowed", "accept");
        // Towards other cells' containers: their cells decide.
        rule(b, "container_egress", "ip daddr " + overlay + " accept");
        // Deny networks win over every allow below.
        if (!deny.always().isEmpty()) {
            rule(b, "container_egress", "ip daddr { " + String.join(", ", deny.always()) + " } counter reject with icmp type admin-prohibited");
        }
        if (!deny.staging().isEmpty()) {
            rule(b, "container_egress", "ip saddr @staging_containers ip daddr { " + String.join(", ", deny.staging())
                    + " } counter reject with icmp type admin-prohibited");
        }
        if (!deny.running().isEmpty()) {
            rule(b, "container_egress", "ip saddr != @staging_containers ip daddr { " + String.join(", ", deny.running())
                    + " } counter reject with icmp type admin-prohibited");
        }
        // The container's egress profile (EgressProfiles) goes in the mark: past the overlay the app's
        // tag is not needed. A container with none gets 0, which no profile has.
        rule(b, "container_egress", "meta mark set 0");
        rule(b, "container_egress", "meta mark set ip saddr map @container_profile");
        String logOut = " ct state new log group " + logging.group() + " prefix \"" + PREFIX_ALLOW_OUT + "\"";
        if (logging.group() > 0 && logging.egressAccepted()) {
            // Every new connection let out below is logged first.
            rule(b, "container_egress", "meta mark . ip daddr . meta l4proto . th dport @egress" + logOut);
            rule(b, "container_egress", "meta l4proto icmp meta mark . ip daddr . icmp type . icmp code @egress_icmp" + logOut);
        } else if (logging.group() > 0) {
            // Security-group rules with log: their new connections are logged, then let out below.
            rule(b, "container_egress", "meta mark . ip daddr . meta l4proto . th dport @egress_logged" + logOut);
        }
        rule(b, "container_egress", "meta mark . ip daddr . meta l4proto . th dport @egress accept");
        rule(b, "container_egress", "meta l4proto icmp meta mark . ip daddr . icmp type . icmp code @egress_icmp accept");
        deny(b, "container_egress", PREFIX_DENY_OUT);
        rule(b, "postrouting", "ip saddr " + subnet + " ip daddr != " + overlay + " masquerade");
        return b.toString();
    }

    private void deny(StringBuilder b, String chain, String prefix) {
        if (logging.denied()) {
            // A rule of its own: a packet over the rate must still reach the reject below.
            rule(b, chain, "limit rate " + logging.rate() + "/second log group " + logging.group() + " prefix \"" + prefix + "\"");
        }
        rule(b, chain, "counter reject with icmp type port-unreachable");
    }

    private static void rule(StringBuilder b, String chain, String rule) {
        b.append("add rule inet silk ").append(chain).append(' ').append(rule).append('\n');
    }
}
