package io.silk.load.cell;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.grpc.MethodDescriptor;
import io.silk.proto.v1.LeaseServiceGrpc;
import io.silk.proto.v1.WatchRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a simulated cell keeps of a lease WatchResponse: the reset flag, the revision, how many
 * leases a snapshot carried and the cell and kind of each event. Thousands of simulated cells
 * share one JVM (and the controller's two cores), so they skip the snapshot's leases instead of
 * building 5,000 objects each; a real cell parses the whole message on its own machine.
 */
public record WatchDigest(boolean reset, long revision, int leases, List<Event> events) {

    public record Event(int kind, String underlayIp, long revision) {
        public static final int UPSERTED = 1;
        public static final int DELETED = 2;
    }

    /** LeaseService/Watch, with this digest as the response type. */
    public static final MethodDescriptor<WatchRequest, WatchDigest> WATCH = LeaseServiceGrpc.getWatchMethod()
            .toBuilder(LeaseServiceGrpc.getWatchMethod().getRequestMarshaller(), new Marshaller())
            .build();

    static WatchDigest parse(CodedInputStream in) throws IOException {
        boolean reset = false;
        long revision = 0;
        int leases = 0;
        List<Event> events = new ArrayList<>(0);
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> reset = in.readBool();
                case 2 -> {
                    leases++;
                    in.skipField(tag);
                }
                case 3 -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    events.add(event(in));
                    in.popLimit(limit);
                }
                case 4 -> revision = in.readInt64();
                default -> in.skipField(tag);
            }
        }
        return new WatchDigest(reset, revision, leases, events);
    }

    private static Event event(CodedInputStream in) throws IOException {
        int kind = 0;
        long revision = 0;
        String cell = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> kind = in.readEnum();
                case 2 -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    for (int t; (t = in.readTag()) != 0; ) {
                        if (WireFormat.getTagFieldNumber(t) == 1) {
                            cell = in.readStringRequireUtf8();
                        } else {
                            in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                }
                case 3 -> revision = in.readInt64();
                default -> in.skipField(tag);
            }
        }
        return new Event(kind, cell, revision);
    }

    private static final class Marshaller implements MethodDescriptor.Marshaller<WatchDigest> {
        @Override
        public InputStream stream(WatchDigest value) {
            throw new UnsupportedOperationException("a simulated cell only receives watch responses");
        }

        @Override
        public WatchDigest parse(InputStream stream) {
            try {
                CodedInputStream in = CodedInputStream.newInstance(stream);
                in.setSizeLimit(Integer.MAX_VALUE);
                return WatchDigest.parse(in);
            } catch (IOException e) {
                throw new UncheckedIOException("decode WatchResponse", e);
            }
        }
    }
}
