package io.silk.daemon.log;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The daemon's logback.xml: key/value fields as fields, in text and in JSON. */
class LogFormatTest {

    final PrintStream stderr = System.err;

    @AfterEach
    void restore() throws Exception {
        System.setErr(stderr);
        System.clearProperty("SILK_LOG_FORMAT");
        configure();
    }

    static void configure() throws Exception {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        JoranConfigurator c = new JoranConfigurator();
        c.setContext(context);
        c.doConfigure(LogFormatTest.class.getResource("/logback.xml"));
    }

    static String logged(String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setErr(new PrintStream(out, true, StandardCharsets.UTF_8));
        if (format != null) {
            System.setProperty("SILK_LOG_FORMAT", format);
        }
        configure();
        LoggerFactory.getLogger("io.silk.daemon.lease.LeaseKeeper").atInfo()
                .addKeyValue("subnet", "10.255.3.0/24").addKeyValue("vtep_mac", "ee:ee:0a:ff:03:00").log("lease renewed");
        LoggerFactory.getLogger("io.silk.daemon.lease.LeaseKeeper").debug("not at INFO");
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void textLinesCarryTheFieldsAfterTheMessage() throws Exception {
        String line = logged(null);
        assertThat(line).startsWith("ts=").contains("level=INFO logger=LeaseKeeper lease renewed subnet=10.255.3.0/24 "
                + "vtep_mac=ee:ee:0a:ff:03:00");
        assertThat(line).doesNotContain("not at INFO");
        assertThat(line.lines()).hasSize(1);
    }

    @Test
    void jsonLinesCarryTheFieldsAsJsonFields() throws Exception {
        String out = logged("json");
        assertThat(out.lines()).hasSize(1);
        JsonNode event = new ObjectMapper().readTree(out);
        assertThat(event.get("level").asText()).isEqualTo("INFO");
        assertThat(event.get("loggerName").asText()).isEqualTo("io.silk.daemon.lease.LeaseKeeper");
        assertThat(event.get("message").asText()).isEqualTo("lease renewed");
        assertThat(event.get("kvpList").toString()).contains("\"subnet\":\"10.255.3.0/24\"", "\"vtep_mac\":\"ee:ee:0a:ff:03:00\"");
    }
}
