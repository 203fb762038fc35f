package io.silk.daemon.policy.nftables;

import io.silk.daemon.ipam.ContainerMetadata;
import io.silk.daemon.policy.Iptables;
import io.silk.daemon.policy.PolicyBackend;
import io.silk.daemon.policy.PolicyRules;
import io.silk.daemon.policy.verdict.AllowedTraffic;
import io.silk.daemon.policy.verdict.PolicyDirectory;
import io.silk.proto.v1.C2CPolicy;
import io.silk.proto.v1.EgressPolicy;
import io.silk.proto.v1.PolicyChange;
import io.silk.proto.v1.SecurityGroup;
import io.silk.proto.v1.SecurityGroupBinding;
import io.silk.proto.v1.SecurityGroupRule;
import io.silk.values.Ipv4Address;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cell's policy on native nftables: one table, {@code inet silk}, whose chains never change
 * with policies (see {@link Ruleset}); policies and containers are elements of its sets and map.
 * A policy created or deleted, or a container attached or gone, is one transaction of the elements
 * it adds and removes, computed from what this process wrote (held here), never by listing the
 * kernel's sets. The whole table is written at start and when the cell's subnet changes (two
 * transactions, see {@link #replace}: whatever an earlier process left is replaced without a gap for
 * allowed traffic); {@link #reconcile} writes it again without removing anything, which repairs
 * elements or chains that were removed behind the daemon's back.
 */
public final class NftablesBackend implements PolicyBackend, PolicyDirectory, AllowedTraffic.Writes {

    private static final Logger log = LoggerFactory.getLogger(NftablesBackend.class);
    private static final String TABLE = Ruleset.FAMILY_AND_TABLE;
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final Nftables nft;
    private final Iptables legacy;
    private final Ruleset.Logging logging;
    private final Ruleset.DenyNetworks deny;
    private final SecurityGroupMode securityGroups;
    private final int ingressTag;

    /**
     * Where a container's security-group egress comes from: the {@code netOutRules} the runtime
     * passed at ADD (Cloud Foundry's static mode), or the groups the controller streams (dynamic:
     * the global ones and its space's, for its lifecycle, changed while it runs).
     */
    public enum SecurityGroupMode { STATIC, DYNAMIC }

    // Guarded by this: the policy model...
    private Ruleset ruleset;
    private final Map<String, ContainerMetadata> containers = new HashMap<>();
    private final Map<String, Set<String>> containersOfApp = new HashMap<>();
    private final Map<Long, C2CPolicy> c2c = new HashMap<>();
    private final Map<Long, EgressPolicy> egress = new HashMap<>();
    private final Map<String, Map<Long, C2CPolicy>> c2cByDestination = new HashMap<>();
    private final Map<String, Map<Long, EgressPolicy>> egressBySource = new HashMap<>();
    private final Map<String, TagHolders> tags = new HashMap<>();
    private final Map<Integer, String> appOfTag = new HashMap<>();
    private final Map<String, SecurityGroup> groups = new HashMap<>();
    private final Map<String, List<ContainerMetadata.NetOutRule>> groupRules = new HashMap<>();
    private final Map<Long, SecurityGroupBinding> bindings = new HashMap<>();
    private final Set<Bound> bound = new HashSet<>();
    // ...and the elements it puts in the kernel.
    private final MapElements containerTag = new MapElements(Ruleset.CONTAINER_TAG);
    private final MapElements portMappings = new MapElements(Ruleset.PORT_MAPPINGS);
    private final CountedSet c2cPort = new CountedSet(Ruleset.C2C_PORT);
    private final IntervalSet c2cRange = new IntervalSet(Ruleset.C2C_RANGE, List.of(Long::toString));
    // Egress, keyed by profile number: containers that may reach the same share their boxes.
    private final IntervalSet egressSet = new IntervalSet(Ruleset.EGRESS,
            List.of(NftablesBackend::address, Long::toString, Long::toString));
    private final IntervalSet egressIcmp = new IntervalSet(Ruleset.EGRESS_ICMP,
            List.of(NftablesBackend::address, Long::toString, Long::toString));
    private final IntervalSet egressLogged = new IntervalSet(Ruleset.EGRESS_LOGGED,
            List.of(NftablesBackend::address, Long::toString, Long::toString));
    private final EgressProfiles egressProfiles = new EgressProfiles(egressSet, egressIcmp, egressLogged);
    private final CountedSet stagingContainers = new CountedSet(Ruleset.STAGING_CONTAINERS);
    private final java.util.concurrent.atomic.AtomicLong wholeWrites = new java.util.concurrent.atomic.AtomicLong();
    /** True once this process wrote the whole table; until then every apply writes it whole. */
    private boolean written;

    /** A tag and how many policies name its app; the tag marks the app's containers while any does. */
    private record TagHolders(int tag, int count) {}

    /** A group bound to a space for running or staging containers. */
    private record Bound(String group, String space, boolean staging) {
        static Bound of(SecurityGroupBinding b) {
            return new Bound(b.getSecurityGroupGuid(), b.getSpaceId(), b.getLifecycle().equals("staging"));
        }
    }

    /**
     * @param legacy the iptables chains of an earlier version to remove once the table is in place
     *               (null: none to look for)
     */
    public NftablesBackend(Nftables nft, Iptables legacy, Ruleset.Logging logging) {
        this(nft, legacy, logging, Ruleset.DenyNetworks.NONE);
    }

    /** @param deny destinations no container may reach, whatever allows it */
    public NftablesBackend(Nftables nft, Iptables legacy, Ruleset.Logging logging, Ruleset.DenyNetworks deny) {
        this(nft, legacy, logging, deny, SecurityGroupMode.STATIC);
    }

    public NftablesBackend(Nftables nft, Iptables legacy, Ruleset.Logging logging, Ruleset.DenyNetworks deny,
            SecurityGroupMode securityGroups) {
        this(nft, legacy, logging, deny, securityGroups, 0);
    }

    /**
     * @param ingressTag the router's tag (cf's {@code ingress_tag}): traffic DNAT'ed in from outside
     *                   the overlay is marked with it and let in only where a C2C policy from that
     *                   tag's group allows; 0: such traffic is let in whatever the policies say
     */
    public NftablesBackend(Nftables nft, Iptables legacy, Ruleset.Logging logging, Ruleset.DenyNetworks deny,
            SecurityGroupMode securityGroups, int ingressTag) {
        this.ingressTag = ingressTag;
        this.nft = nft;
        this.legacy = legacy;
        this.logging = logging;
        this.deny = deny;
        this.securityGroups = securityGroups;
    }

    @Override
    public synchronized boolean prepare() {
        // Nothing to put in place: the first apply writes the whole table in one transaction, and
        // until then whatever an earlier process left keeps being enforced.
        return !tableExists() && !legacyPresent();
    }

    @Override
    public synchronized void apply(PolicyRules.Inputs in) {
        Ruleset wanted = new Ruleset(in.localSubnet(), in.overlayNetwork(), new Ruleset.Logging(
                in.logDenied() && logging.group() > 0, logging.accepted(), logging.group(), logging.rate(),
                logging.egressAccepted()), deny, ingressTag);
        if (!written || !wanted.equals(ruleset)) {
            replace(wanted, in);
            return;
        }
        // The same cell: only what differs, as one transaction.
        Map<String, PolicyRules.LocalContainer> containersNow = new LinkedHashMap<>();
        in.containers().forEach(c -> containersNow.put(c.ip(), c));
        Map<Long, C2CPolicy> c2cNow = new HashMap<>();
        in.c2c().forEach(p -> c2cNow.put(p.getId(), p));
        Map<Long, EgressPolicy> egressNow = new HashMap<>();
        in.egress().forEach(p -> egressNow.put(p.getId(), p));

        for (var e : List.copyOf(containers.entrySet())) {
            PolicyRules.LocalContainer now = containersNow.get(e.getKey());
            if (now == null || !now.metadata().equals(e.getValue())) {
                removeContainer(e.getKey());
            }
        }
        for (var p : List.copyOf(c2c.values())) {
            if (!p.equals(c2cNow.get(p.getId()))) {
                removeC2c(p);
            }
        }
        for (var p : List.copyOf(egress.values())) {
            if (!p.equals(egressNow.get(p.getId()))) {
                removeEgress(p);
            }
        }
        c2cNow.values().stream().filter(p -> !c2c.containsKey(p.getId())).forEach(this::addC2c);
        egressNow.values().stream().filter(p -> !egress.containsKey(p.getId())).forEach(this::addEgress);
        Map<String, SecurityGroup> groupsNow = new HashMap<>();
        in.securityGroups().forEach(g -> groupsNow.put(g.getGuid(), g));
        Map<Long, SecurityGroupBinding> bindingsNow = new HashMap<>();
        in.bindings().forEach(b -> bindingsNow.put(b.getId(), b));
        for (var b : List.copyOf(bindings.values())) {
            if (!b.equals(bindingsNow.get(b.getId()))) {
                removeBinding(b);
            }
        }
        for (String guid : List.copyOf(groups.keySet())) {
            if (!groupsNow.containsKey(guid)) {
                removeGroup(guid);
            }
        }
        groupsNow.values().stream().filter(g -> !g.equals(groups.get(g.getGuid()))).forEach(this::putGroup);
        bindingsNow.values().stream().filter(b -> !bindings.containsKey(b.getId())).forEach(this::addBinding);
        containersNow.forEach((ip, c) -> {
            if (!containers.containsKey(ip)) {
                addContainer(c);
            }
        });
        commit("apply");
    }

    /** Policies created or deleted: their elements only. */
    @Override
    public synchronized void change(List<PolicyChange> changes, Supplier<PolicyRules.Inputs> after) {
        if (!written) {
            apply(after.get());
            return;
        }
        for (PolicyChange ch : changes) {
            boolean created = ch.getKind() == PolicyChange.Kind.CREATED;
            if (ch.hasC2C()) {
                C2CPolicy known = c2c.get(ch.getC2C().getId());
                if (known != null) {
                    removeC2c(known);
                }
                if (created) {
                    addC2c(ch.getC2C());
                }
            } else if (ch.hasEgress()) {
                EgressPolicy known = egress.get(ch.getEgress().getId());
                if (known != null) {
                    removeEgress(known);
                }
                if (created) {
                    addEgress(ch.getEgress());
                }
            } else if (ch.hasSecurityGroup()) {
                if (created) {
                    putGroup(ch.getSecurityGroup());
                } else {
                    removeGroup(ch.getSecurityGroup().getGuid());
                }
            } else if (ch.hasSecurityGroupBinding()) {
                SecurityGroupBinding known = bindings.get(ch.getSecurityGroupBinding().getId());
                if (known != null) {
                    removeBinding(known);
                }
                if (created) {
                    addBinding(ch.getSecurityGroupBinding());
                }
            }
        }
        try {
            commit("change");
        } catch (NftablesException e) {
            // The kernel's table differs from what this process wrote (removed by hand, another
            // process): write it whole from the model, which already holds the change.
            log.atWarn().addKeyValue("error", e.getMessage()).log("incremental policy change refused; writing the table whole");
            replace(ruleset, null);
        }
    }

    @Override
    public synchronized void reconcile() {
        if (!written) {
            return;
        }
        // Structure first (re-declaring what exists is a no-op; chains are rewritten atomically),
        // then every element added again: what is there stays, with its counters; what went is back.
        nft.run(ruleset.declarations() + ruleset.chainRules());
        nft.elements(allElements(false));
    }

    @Override
    public synchronized int removeAll() {
        int removed = 0;
        if (tableExists()) {
            nft.run("delete table " + TABLE + "\n");
            removed = Ruleset.CHAINS.length;
        }
        if (legacyPresent()) {
            removed += legacy.removeAll();
        }
        written = false;
        return removed;
    }

    /** Not synchronized: read while a write is under way. */
    @Override
    public long wholeWrites() {
        return wholeWrites.get();
    }

    @Override
    public synchronized Optional<String> appOf(String containerIp) {
        return Optional.ofNullable(containers.get(containerIp)).map(ContainerMetadata::appId);
    }

    @Override
    public synchronized Optional<String> appOfTag(long tag) {
        return Optional.ofNullable(appOfTag.get((int) tag));
    }

    @Override
    public synchronized List<String> allowed(String sourceApp, String destinationApp) {
        return c2cByDestination.getOrDefault(destinationApp, Map.of()).values().stream()
                .filter(p -> p.getSourceId().equals(sourceApp))
                .map(p -> p.getProtocol() + "/" + (p.getStartPort() == p.getEndPort() ? "" + p.getStartPort()
                        : p.getStartPort() + "-" + p.getEndPort()))
                .sorted().distinct().toList();
    }

    /** Elements per set, as written to the kernel. */
    public synchronized Map<String, Integer> elementCounts() {
        return Map.of(Ruleset.CONTAINER_TAG, containerTag.size(), Ruleset.PORT_MAPPINGS, portMappings.size(),
                Ruleset.STAGING_CONTAINERS, stagingContainers.size(), Ruleset.C2C_PORT, c2cPort.size(),
                Ruleset.C2C_RANGE, c2cRange.size(), Ruleset.EGRESS, egressSet.size(), Ruleset.EGRESS_ICMP, egressIcmp.size(),
                Ruleset.EGRESS_LOGGED, egressLogged.size(), Ruleset.CONTAINER_PROFILE, egressProfiles.mapSize());
    }

    // ---- the model ------------------------------------------------------------------------------

    /**
     * Writes the whole table: the chains in one transaction (the table and sets are created if
     * missing; re-declaring existing ones changes nothing), then every set emptied and filled again
     * in a second one. Each is atomic and neither loosens what the other enforces, so whatever an
     * earlier process left is replaced without a gap for traffic that stays allowed.
     */
    private void replace(Ruleset wanted, PolicyRules.Inputs in) {
        long t0 = System.nanoTime();
        if (in != null) {
            resetModel();
            in.securityGroups().forEach(this::putGroup);
            in.bindings().forEach(this::addBinding);
            in.containers().forEach(this::addContainer);
            in.c2c().forEach(this::addC2c);
            in.egress().forEach(this::addEgress);
        } else {
            // Rebuild the elements from the model as it stands.
            List<PolicyRules.LocalContainer> attached = containers.entrySet().stream()
                    .map(e -> new PolicyRules.LocalContainer(e.getKey(), e.getValue())).toList();
            List<C2CPolicy> c2cs = List.copyOf(c2c.values());
            List<EgressPolicy> egresses = List.copyOf(egress.values());
            List<SecurityGroup> groupsKnown = List.copyOf(groups.values());
            List<SecurityGroupBinding> bindingsKnown = List.copyOf(bindings.values());
            resetModel();
            groupsKnown.forEach(this::putGroup);
            bindingsKnown.forEach(this::addBinding);
            attached.forEach(this::addContainer);
            c2cs.forEach(this::addC2c);
            egresses.forEach(this::addEgress);
        }
        flush(); // the model's pending changes are all in the whole write below
        boolean first = !written;
        written = false;
        try {
            nft.run(wanted.declarations() + wanted.chainRules());
        } catch (NftablesException e) {
            // The table exists in a shape this version does not declare (another version's sets):
            // only a new table fixes that. The one transaction replaces it, elements follow at once.
            log.atWarn().addKeyValue("error", e.getMessage()).log("nftables table of another shape; replacing it whole");
            nft.run("table " + TABLE + " {}\ndelete table " + TABLE + "\n" + wanted.declarations() + wanted.chainRules());
        }
        Transaction all = allElements(true);
        wholeWrites.incrementAndGet();
        nft.elements(all);
        ruleset = wanted;
        written = true;
        log.atDebug().addKeyValue("elements", all.size()).addKeyValue("ms", (System.nanoTime() - t0) / 1_000_000)
                .log("nftables table written");
        if (first && legacyPresent()) {
            // The table enforces the same policy now; the old chains can go without a gap.
            int chains = legacy.removeAll();
            log.atInfo().addKeyValue("chains", chains).log("removed the iptables chains of an earlier silk after moving to nftables");
        }
    }

    /** Every element the model holds, optionally emptying each set first. */
    private Transaction allElements(boolean emptyFirst) {
        Transaction all = new Transaction(TABLE);
        if (emptyFirst) {
            for (String set : Ruleset.SETS) {
                all.flush(set);
            }
        }
        containerTag.addAll(all);
        portMappings.addAll(all);
        stagingContainers.addAll(all);
        c2cPort.addAll(all);
        c2cRange.addAll(all);
        egressProfiles.addAll(all);
        return all;
    }

    private void resetModel() {
        containers.clear();
        containersOfApp.clear();
        c2c.clear();
        egress.clear();
        c2cByDestination.clear();
        egressBySource.clear();
        tags.clear();
        appOfTag.clear();
        groups.clear();
        groupRules.clear();
        bindings.clear();
        bound.clear();
        containerTag.clear();
        portMappings.clear();
        stagingContainers.clear();
        c2cPort.clear();
        c2cRange.clear();
        egressProfiles.clear();
    }

    private void commit(String what) {
        Transaction tx = flush();
        if (tx.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        nft.elements(tx);
        log.atDebug().addKeyValue("what", what).addKeyValue("elements", tx.size())
                .addKeyValue("us", (System.nanoTime() - t0) / 1_000).log("nftables elements changed");
    }

    private Transaction flush() {
        Transaction tx = new Transaction(TABLE);
        containerTag.flush(tx);
        portMappings.flush(tx);
        stagingContainers.flush(tx);
        c2cPort.flush(tx);
        c2cRange.flush(tx);
        egressProfiles.flush(tx);
        return tx;
    }

    private void addContainer(PolicyRules.LocalContainer c) {
        String ip = c.ip();
        String app = c.appId();
        containers.put(ip, c.metadata());
        mapPorts(ip, c.portMappings(), true);
        containerEgress(ip, c.metadata(), true);
        containersOfApp.computeIfAbsent(app, a -> new HashSet<>()).add(ip);
        TagHolders t = tags.get(app);
        if (t != null) {
            setTag(ip, hex(t.tag()));
        }
        c2cByDestination.getOrDefault(app, Map.of()).values().forEach(p -> c2cElements(p, ip, true));
        egressBySource.getOrDefault(app, Map.of()).values().forEach(p -> egressElements(p, ip, true));
    }

    private void removeContainer(String ip) {
        ContainerMetadata metadata = containers.remove(ip);
        String app = metadata.appId();
        mapPorts(ip, metadata.portMappings(), false);
        containerEgress(ip, metadata, false);
        Set<String> ips = containersOfApp.get(app);
        ips.remove(ip);
        if (ips.isEmpty()) {
            containersOfApp.remove(app);
        }
        setTag(ip, null);
        c2cByDestination.getOrDefault(app, Map.of()).values().forEach(p -> c2cElements(p, ip, false));
        egressBySource.getOrDefault(app, Map.of()).values().forEach(p -> egressElements(p, ip, false));
    }

    private void addC2c(C2CPolicy p) {
        c2c.put(p.getId(), p);
        c2cByDestination.computeIfAbsent(p.getDestinationId(), a -> new HashMap<>()).put(p.getId(), p);
        holdTag(p.getSourceId(), p.getSourceTag());
        holdTag(p.getDestinationId(), p.getDestinationTag());
        containersOfApp.getOrDefault(p.getDestinationId(), Set.of()).forEach(ip -> c2cElements(p, ip, true));
    }

    private void removeC2c(C2CPolicy p) {
        c2c.remove(p.getId());
        Map<Long, C2CPolicy> byDst = c2cByDestination.get(p.getDestinationId());
        byDst.remove(p.getId());
        if (byDst.isEmpty()) {
            c2cByDestination.remove(p.getDestinationId());
        }
        containersOfApp.getOrDefault(p.getDestinationId(), Set.of()).forEach(ip -> c2cElements(p, ip, false));
        releaseTag(p.getSourceId());
        releaseTag(p.getDestinationId());
    }

    private void addEgress(EgressPolicy p) {
        egress.put(p.getId(), p);
        egressBySource.computeIfAbsent(p.getSourceId(), a -> new HashMap<>()).put(p.getId(), p);
        holdTag(p.getSourceId(), p.getSourceTag());
        containersOfApp.getOrDefault(p.getSourceId(), Set.of()).forEach(ip -> egressElements(p, ip, true));
    }

    private void removeEgress(EgressPolicy p) {
        egress.remove(p.getId());
        Map<Long, EgressPolicy> bySrc = egressBySource.get(p.getSourceId());
        bySrc.remove(p.getId());
        if (bySrc.isEmpty()) {
            egressBySource.remove(p.getSourceId());
        }
        containersOfApp.getOrDefault(p.getSourceId(), Set.of()).forEach(ip -> egressElements(p, ip, false));
        releaseTag(p.getSourceId());
    }

    private void c2cElements(C2CPolicy p, String ip, boolean hold) {
        int proto = protocolNumber(p.getProtocol());
        if (p.getStartPort() == p.getEndPort()) {
            hold(c2cPort, ip + " . " + hex(p.getSourceTag()) + " . " + proto + " . " + p.getStartPort(), hold);
        } else {
            hold(c2cRange, ip + " . " + hex(p.getSourceTag()) + " . " + proto,
                    Box.of(new Box.Range(p.getStartPort(), p.getEndPort())), hold);
        }
    }

    /** An egress policy lets out what a security-group rule of the same shape would. */
    private void egressElements(EgressPolicy p, String ip, boolean hold) {
        ContainerMetadata.Range destinations = new ContainerMetadata.Range(unsigned(Ipv4Address.parse(p.getStartIp(), "egress start_ip")),
                unsigned(Ipv4Address.parse(p.getEndIp(), "egress end_ip")));
        List<ContainerMetadata.Range> ports = p.getStartPort() == 0 && p.getEndPort() == 0 ? List.of()
                : List.of(new ContainerMetadata.Range(p.getStartPort(), p.getEndPort()));
        egressRule(ip, new ContainerMetadata.NetOutRule(p.getProtocol(), List.of(destinations), ports, p.getIcmpType(),
                p.getIcmpCode(), false), hold);
    }

    private void holdTag(String app, int tag) {
        TagHolders t = tags.get(app);
        tags.put(app, new TagHolders(tag, t == null ? 1 : t.count() + 1));
        appOfTag.put(tag, app);
        if (t == null || t.tag() != tag) {
            containersOfApp.getOrDefault(app, Set.of()).forEach(ip -> setTag(ip, hex(tag)));
        }
    }

    private void releaseTag(String app) {
        TagHolders t = tags.get(app);
        if (t == null) {
            return;
        }
        if (t.count() > 1) {
            tags.put(app, new TagHolders(t.tag(), t.count() - 1));
            return;
        }
        tags.remove(app);
        appOfTag.remove(t.tag(), app);
        containersOfApp.getOrDefault(app, Set.of()).forEach(ip -> setTag(ip, null));
    }

    private void setTag(String ip, String tag) {
        containerTag.put(ip, tag);
    }

    private static final Box.Range ANY_ADDRESS = new Box.Range(0, 0xffff_ffffL);
    /** Any protocol number, ICMP type or ICMP code. */
    private static final Box.Range ANY_BYTE = new Box.Range(0, 255);
    private static final Box.Range ANY_PORT = new Box.Range(0, 65535);

    /**
     * What the container itself may reach: its security groups (the {@code netOutRules} the runtime
     * passed at ADD in static mode; in dynamic mode the groups that apply to it now) and the DNS
     * servers of its configuration (tcp and udp 53); and whether it is staging (for the deny networks).
     */
    private void containerEgress(String ip, ContainerMetadata m, boolean hold) {
        if (securityGroups == SecurityGroupMode.STATIC) {
            m.netOutRules().forEach(r -> egressRule(ip, r, hold));
        } else {
            for (String guid : groups.keySet()) {
                if (applies(guid, m)) {
                    groupRules.get(guid).forEach(r -> egressRule(ip, r, hold));
                }
            }
        }
        for (String server : m.dnsServers()) {
            long a = unsigned(Ipv4Address.parse(server, "dns server"));
            for (int proto : new int[] {6, 17}) {
                hold(ip, EgressProfiles.Kind.EGRESS, Box.of(new Box.Range(a, a), new Box.Range(proto, proto), new Box.Range(53, 53)), hold);
            }
        }
        if (m.staging()) {
            hold(stagingContainers, ip, hold);
        }
    }

    /**
     * One rule of what a container may reach outside the overlay, as boxes of {@code egress} (tcp,
     * udp, all: every protocol and port, ICMP included) or {@code egress_icmp}; a logged rule's boxes
     * also go to {@code egress_logged}.
     */
    private void egressRule(String ip, ContainerMetadata.NetOutRule r, boolean hold) {
        List<Box.Range> networks = r.networks().isEmpty() ? List.of(ANY_ADDRESS)
                : r.networks().stream().map(n -> new Box.Range(n.start(), n.end())).toList();
        List<Box.Range> ports = r.ports().isEmpty() ? List.of(ANY_PORT)
                : r.ports().stream().map(p -> new Box.Range(p.start(), p.end())).toList();
        for (Box.Range net : networks) {
            List<Box> boxes = switch (r.protocol()) {
                case "icmp" -> List.of(Box.of(net, r.icmpType() < 0 ? ANY_BYTE : new Box.Range(r.icmpType(), r.icmpType()),
                        r.icmpCode() < 0 ? ANY_BYTE : new Box.Range(r.icmpCode(), r.icmpCode())));
                case "tcp", "udp" -> {
                    int proto = protocolNumber(r.protocol());
                    yield ports.stream().map(port -> Box.of(net, new Box.Range(proto, proto), port)).toList();
                }
                default -> List.of(Box.of(net, ANY_BYTE, ANY_PORT));
            };
            EgressProfiles.Kind kind = r.protocol().equals("icmp") ? EgressProfiles.Kind.ICMP : EgressProfiles.Kind.EGRESS;
            for (Box box : boxes) {
                hold(ip, kind, box, hold);
                if (r.log() && kind == EgressProfiles.Kind.EGRESS) {
                    hold(ip, EgressProfiles.Kind.LOGGED, box, hold);
                }
            }
        }
    }

    // ---- security groups (dynamic) ---------------------------------------------------------------

    /** Cloud Foundry's rule: staging containers get the staging groups, apps and tasks the running ones. */
    private boolean applies(String guid, ContainerMetadata m) {
        SecurityGroup g = groups.get(guid);
        if (g == null) {
            return false;
        }
        boolean staging = m.staging();
        return (staging ? g.getStagingDefault() : g.getRunningDefault())
                || (!m.spaceId().isEmpty() && bound.contains(new Bound(guid, m.spaceId(), staging)));
    }

    private void putGroup(SecurityGroup g) {
        changeGroup(g.getGuid(), () -> {
            groups.put(g.getGuid(), g);
            groupRules.put(g.getGuid(), g.getRulesList().stream().filter(r -> r.getDestinationsCount() > 0)
                    .map(NftablesBackend::netOutRule).toList());
        });
    }

    private void removeGroup(String guid) {
        changeGroup(guid, () -> {
            groups.remove(guid);
            groupRules.remove(guid);
        });
    }

    private void addBinding(SecurityGroupBinding b) {
        bindings.put(b.getId(), b);
        changeGroup(b.getSecurityGroupGuid(), () -> bound.add(Bound.of(b)));
    }

    private void removeBinding(SecurityGroupBinding b) {
        bindings.remove(b.getId());
        changeGroup(b.getSecurityGroupGuid(), () -> bound.remove(Bound.of(b)));
    }

    /**
     * One group's part of container egress follows a change of the group or of its bindings: its
     * old rules are released where it applied, its new ones held where it applies now. Released and
     * held again in one transaction, a box that stays is neither removed nor added.
     */
    private void changeGroup(String guid, Runnable change) {
        if (securityGroups == SecurityGroupMode.STATIC) {
            change.run();
            return;
        }
        List<ContainerMetadata.NetOutRule> before = groupRules.getOrDefault(guid, List.of());
        containers.forEach((ip, m) -> {
            if (applies(guid, m)) {
                before.forEach(r -> egressRule(ip, r, false));
            }
        });
        change.run();
        List<ContainerMetadata.NetOutRule> after = groupRules.getOrDefault(guid, List.of());
        containers.forEach((ip, m) -> {
            if (applies(guid, m)) {
                after.forEach(r -> egressRule(ip, r, true));
            }
        });
    }

    /** A group's rule in the shape of the runtime's {@code netOutRules}: one translation into boxes for both. */
    private static ContainerMetadata.NetOutRule netOutRule(SecurityGroupRule r) {
        List<ContainerMetadata.Range> networks = r.getDestinationsList().stream()
                .map(a -> new ContainerMetadata.Range(unsigned(Ipv4Address.parse(a.getStart(), "security group destination")),
                        unsigned(Ipv4Address.parse(a.getEnd(), "security group destination")))).toList();
        List<ContainerMetadata.Range> ports = r.getPortsList().stream()
                .map(p -> new ContainerMetadata.Range(p.getStart(), p.getEnd())).toList();
        return new ContainerMetadata.NetOutRule(r.getProtocol(), networks, ports, r.getIcmpType(), r.getIcmpCode(), r.getLog());
    }

    private static void hold(CountedSet set, String element, boolean hold) {
        if (hold) {
            set.hold(element);
        } else {
            set.release(element);
        }
    }

    private void hold(String container, EgressProfiles.Kind kind, Box box, boolean hold) {
        if (hold) {
            egressProfiles.hold(container, kind, box);
        } else {
            egressProfiles.release(container, kind, box);
        }
    }

    private static void hold(IntervalSet set, String scope, Box box, boolean hold) {
        if (hold) {
            set.hold(scope, box);
        } else {
            set.release(scope, box);
        }
    }

    /** NetIn: the container's host ports, DNAT'ed to it from the cell's addresses. */
    private void mapPorts(String ip, List<ContainerMetadata.PortMapping> mappings, boolean map) {
        for (ContainerMetadata.PortMapping m : mappings) {
            portMappings.put(protocolNumber(m.protocol()) + " . " + m.hostPort(), map ? ip + " . " + m.containerPort() : null);
        }
    }

    // ---- the kernel -----------------------------------------------------------------------------

    private boolean tableExists() {
        try {
            for (var item : JSON.readTree(nft.json("list tables inet")).path("nftables")) {
                if (item.path("table").path("name").asText().equals("silk")) {
                    return true;
                }
            }
            return false;
        } catch (java.io.IOException e) {
            throw new NftablesException("read nft's list of tables: " + e.getMessage(), e);
        }
    }

    private boolean legacyPresent() {
        if (legacy == null) {
            return false;
        }
        try {
            return legacy.save("filter").contains(":" + PolicyRules.FORWARD_CHAIN + " ");
        } catch (RuntimeException e) {
            return false; // no iptables on this host: nothing to migrate
        }
    }

    static int protocolNumber(String protocol) {
        return switch (protocol) {
            case "tcp" -> 6;
            case "udp" -> 17;
            case "icmp" -> 1;
            default -> throw new IllegalArgumentException("protocol " + protocol + " is not tcp, udp or icmp");
        };
    }

    static String hex(int tag) {
        return "0x" + Integer.toHexString(tag);
    }

    private static String address(long ip) {
        return new Ipv4Address((int) ip).toString();
    }

    private static long unsigned(Ipv4Address a) {
        return a.bits() & 0xffff_ffffL;
    }
}
