package io.silk.daemon.lease;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.silk.values.BadValue;
import io.silk.values.Ipv4Address;
import io.silk.values.Ipv4Network;
import io.silk.values.MacAddress;
import java.io.IOException;

/**
 * The daemon's files write network values as the strings they always were ("10.0.0.5",
 * "10.255.17.0/24", "ee:ee:0a:ff:11:00"), so a daemon upgraded in place reads the files of the one
 * before; reading parses them with silk-values, which stays free of Jackson.
 */
public final class ValuesJson {

    private ValuesJson() {}

    /** Serializers and deserializers for {@link Ipv4Address}, {@link Ipv4Network} and {@link MacAddress}. */
    public static SimpleModule module() {
        SimpleModule m = new SimpleModule("silk-values");
        add(m, Ipv4Address.class, Ipv4Address::parse);
        add(m, Ipv4Network.class, Ipv4Network::parse);
        add(m, MacAddress.class, MacAddress::parse);
        return m;
    }

    private interface Parser<T> {
        T parse(String text, String what);
    }

    private static <T> void add(SimpleModule m, Class<T> type, Parser<T> parser) {
        m.addSerializer(type, new JsonSerializer<>() {
            @Override
            public void serialize(T value, JsonGenerator g, SerializerProvider p) throws IOException {
                g.writeString(value.toString());
            }
        });
        m.addDeserializer(type, new JsonDeserializer<>() {
            @Override
            public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                String field = p.currentName() == null ? type.getSimpleName() : p.currentName();
                if (p.currentToken() != JsonToken.VALUE_STRING) {
                    throw InvalidFormatException.from(p, field + " is not a string", p.getText(), type);
                }
                String text = p.getText();
                try {
                    return parser.parse(text, field);
                } catch (BadValue e) {
                    throw InvalidFormatException.from(p, e.getMessage(), null, type);
                }
            }
        });
    }
}
