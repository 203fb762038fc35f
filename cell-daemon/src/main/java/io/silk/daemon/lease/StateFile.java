package io.silk.daemon.lease;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * A JSON file written atomically (write, fsync by rename), read back on restart. Network values
 * are strings in it ({@link ValuesJson}).
 */
public final class StateFile<T> {

    private static final ObjectMapper JSON = new ObjectMapper().registerModule(ValuesJson.module());

    private final Path file;
    private final Class<T> type;

    public StateFile(Path file, Class<T> type) {
        this.file = file;
        this.type = type;
    }

    public Optional<T> read() {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), type));
        } catch (IOException e) {
            throw new UncheckedIOException("read state file " + file + ": " + e.getMessage(), e);
        }
    }

    public void write(T value) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(value));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("write state file " + file + ": " + e.getMessage(), e);
        }
    }

    public void delete() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("delete state file " + file, e);
        }
    }
}
