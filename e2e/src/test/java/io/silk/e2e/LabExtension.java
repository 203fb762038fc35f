package io.silk.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Hands a test its {@link Lab} as a parameter, and takes it down afterwards. A {@code @BeforeAll}
 * parameter gets a lab for the class, closed after the class; a {@code @Test} parameter gets one
 * for that test, closed after it. Closing always removes the lab's processes and namespaces; its
 * work directory goes too when everything that used the lab passed, and stays, with the logs,
 * when something failed. With SILK_E2E_KEEP set, labs are left as they are, running, to look at
 * (remove them with {@code ip netns list | grep ^sk}, then {@code ip netns delete}).
 */
public final class LabExtension implements ParameterResolver, TestWatcher {

    private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(LabExtension.class);

    /** A lab and whether anything that used it failed; closed by JUnit with the context it belongs to. */
    private record Owned(Lab lab, ExtensionContext context, AtomicBoolean failed) implements AutoCloseable {
        @Override
        public void close() {
            if (System.getenv("SILK_E2E_KEEP") != null) {
                return;
            }
            lab.close();
            if (!failed.get() && context.getExecutionException().isEmpty()) {
                try {
                    lab.deleteFiles();
                } catch (IOException e) {
                    throw new UncheckedIOException("remove " + lab.work(), e);
                }
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Lab.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        try {
            Lab lab = new Lab();
            ExtensionContext.Store store = context.getStore(STORE);
            AtomicBoolean failed = (AtomicBoolean) store.computeIfAbsent(FAILED, k -> new AtomicBoolean());
            store.put("lab-" + lab.id(), new Owned(lab, context, failed));
            return lab;
        } catch (IOException e) {
            throw new UncheckedIOException("make a lab", e);
        }
    }

    /** A test failed: so did its own labs and its class's (store lookups also see the ancestors' entries). */
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
            if (c.get().getStore(STORE).get(FAILED) instanceof AtomicBoolean failed) {
                failed.set(true);
            }
        }
    }

    private static final String FAILED = "failed";
}
