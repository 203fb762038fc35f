package io.silk.daemon.policy.nftables;

import io.silk.netlink.NetlinkException;
import io.silk.netlink.NfTablesSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The kernel's nftables as the backend uses it: the table's chains and sets in nft's language
 * through libnftables, and set elements straight through nf_tables netlink — 100,000 elements
 * would cost half a second in nft's parser alone, and a change would pay the parser too.
 */
public final class KernelNftables implements Nftables {

    private final LibNftables nft;
    private final NfTablesSocket socket;

    private KernelNftables(LibNftables nft, NfTablesSocket socket) {
        this.nft = nft;
        this.socket = socket;
    }

    /** In the caller's network namespace (the daemon runs in the cell's). */
    public static KernelNftables open() {
        return new KernelNftables(LibNftables.open(), NfTablesSocket.open());
    }

    /** In the namespace at {@code netns} (tests and benchmarks). */
    public static KernelNftables openIn(Path netns) {
        return new KernelNftables(LibNftables.openIn(netns), NfTablesSocket.openIn(netns));
    }

    @Override
    public void run(String script) {
        nft.run(script);
    }

    @Override
    public String json(String command) {
        return nft.json(command);
    }

    @Override
    public void elements(Transaction tx) {
        String[] tableName = tx.table().split(" ");
        String table = tableName[tableName.length - 1];
        NfTablesSocket.Batch batch = socket.batch();
        for (String set : tx.flushes()) {
            batch.flush(table, set);
        }
        encode(tx.deletes(), (set, e) -> batch.delete(table, set, e.key(), e.keyEnd()));
        encode(tx.adds(), (set, e) -> batch.add(table, set, e.key(), e.keyEnd(), e.data()));
        try {
            batch.commit();
        } catch (NetlinkException e) {
            throw new NftablesException(e.getMessage(), e);
        }
    }

    private interface Operation {
        void apply(String set, SetLayout.Encoded element);
    }

    private static void encode(Map<String, List<String>> bySet, Operation op) {
        bySet.forEach((set, elements) -> {
            SetLayout layout = SetLayout.of(set);
            for (String element : elements) {
                op.apply(set, layout.encode(element));
            }
        });
    }

    @Override
    public void close() {
        socket.close();
        nft.close();
    }
}
