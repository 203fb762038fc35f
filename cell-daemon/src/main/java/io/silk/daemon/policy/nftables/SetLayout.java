package io.silk.daemon.policy.nftables;

import io.silk.values.Ipv4Address;
import java.util.List;
import java.util.Map;

/**
 * How the elements of one of the table's sets are laid out in the kernel, to encode the nft
 * spelling the backend keeps ({@code 10.255.1.3 . 0x1 . 6 . 8080-8090}, {@code 10.255.1.2 : 0x1})
 * as netlink keys: each field of a concatenation padded to 4 bytes, addresses and ports in network
 * order, a mark in host order, except in interval sets, where nft keeps it in network order.
 */
record SetLayout(List<Field> key, boolean interval, List<Field> data) {

    enum Field { IPV4, MARK_HOST, MARK_NETWORK, BYTE, PORT }

    static final Map<String, SetLayout> OF_TABLE = Map.of(
            Ruleset.CONTAINER_TAG, new SetLayout(List.of(Field.IPV4), false, List.of(Field.MARK_HOST)),
            Ruleset.PORT_MAPPINGS, new SetLayout(List.of(Field.BYTE, Field.PORT), false, List.of(Field.IPV4, Field.PORT)),
            Ruleset.C2C_PORT, new SetLayout(List.of(Field.IPV4, Field.MARK_HOST, Field.BYTE, Field.PORT), false, null),
            Ruleset.C2C_RANGE, new SetLayout(List.of(Field.IPV4, Field.MARK_NETWORK, Field.BYTE, Field.PORT), true, null),
            Ruleset.CONTAINER_PROFILE, new SetLayout(List.of(Field.IPV4), false, List.of(Field.MARK_HOST)),
            Ruleset.EGRESS, new SetLayout(List.of(Field.MARK_NETWORK, Field.IPV4, Field.BYTE, Field.PORT), true, null),
            Ruleset.EGRESS_ICMP, new SetLayout(List.of(Field.MARK_NETWORK, Field.IPV4, Field.BYTE, Field.BYTE), true, null),
            Ruleset.EGRESS_LOGGED, new SetLayout(List.of(Field.MARK_NETWORK, Field.IPV4, Field.BYTE, Field.PORT), true, null),
            Ruleset.STAGING_CONTAINERS, new SetLayout(List.of(Field.IPV4), false, null));

    static SetLayout of(String set) {
        SetLayout l = OF_TABLE.get(set);
        if (l == null) {
            throw new IllegalArgumentException("no layout for set " + set);
        }
        return l;
    }

    /** An element's key, key end (interval sets, else null) and data (maps, else null). */
    record Encoded(byte[] key, byte[] keyEnd, byte[] data) {}

    /** Encodes an element as the backend spells it; for a map's removal, the key alone. */
    Encoded encode(String element) {
        String keyText = element;
        String dataText = null;
        int colon = element.indexOf(" : ");
        if (colon >= 0) {
            keyText = element.substring(0, colon);
            dataText = element.substring(colon + 3);
        }
        byte[] lo = new byte[4 * key.size()];
        byte[] hi = interval ? new byte[4 * key.size()] : null;
        fields(element, keyText, key, lo, hi);
        byte[] d = null;
        if (dataText != null) {
            d = new byte[4 * data.size()];
            fields(element, dataText, data, d, null);
        }
        return new Encoded(lo, hi, d);
    }

    /** The fields of {@code text} ("a . b-c . d") into {@code lo} (and the range ends into {@code hi}). */
    private static void fields(String element, String text, List<Field> layout, byte[] lo, byte[] hi) {
        int start = 0;
        for (int i = 0; i < layout.size(); i++) {
            int end = text.indexOf(" . ", start);
            String field = end < 0 ? text.substring(start) : text.substring(start, end);
            start = end + 3;
            Field f = layout.get(i);
            int dash = f == Field.IPV4 || f == Field.BYTE || f == Field.PORT ? field.indexOf('-') : -1;
            put(lo, 4 * i, f, dash < 0 ? field : field.substring(0, dash));
            if (hi != null) {
                put(hi, 4 * i, f, dash < 0 ? field : field.substring(dash + 1));
            }
            if (end < 0 && i + 1 < layout.size()) {
                throw new IllegalArgumentException("element " + element + " has fewer fields than " + layout);
            }
        }
    }

    private static void put(byte[] b, int at, Field f, String text) {
        switch (f) {
            case IPV4 -> {
                int bits = Ipv4Address.parse(text, "set element address").bits();
                b[at] = (byte) (bits >>> 24);
                b[at + 1] = (byte) (bits >>> 16);
                b[at + 2] = (byte) (bits >>> 8);
                b[at + 3] = (byte) bits;
            }
            case MARK_HOST, MARK_NETWORK -> {
                long v = Long.decode(text);
                boolean network = f == Field.MARK_NETWORK || java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.BIG_ENDIAN;
                for (int i = 0; i < 4; i++) {
                    b[at + (network ? 3 - i : i)] = (byte) (v >>> (8 * i));
                }
            }
            case BYTE -> b[at] = (byte) Integer.parseInt(text);
            case PORT -> {
                int p = Integer.parseInt(text);
                b[at] = (byte) (p >>> 8);
                b[at + 1] = (byte) p;
            }
        }
    }
}
