package io.silk.values;

/** Quotes caller input for an error message, shortened so the message stays small. */
public final class Quote {

    /** Longer input is cut here: an error echoing 10 KB of input overflows gRPC's 8 KiB metadata limit. */
    public static final int MAX_CHARS = 64;

    private Quote() {}

    /** {@code "text"}, or {@code "first 64 chars…" (10240 chars)} when longer; control characters escaped. */
    public static String shortened(String text) {
        if (text == null) {
            return "(none)";
        }
        int shown = Math.min(text.length(), MAX_CHARS);
        StringBuilder b = new StringBuilder(shown + 24).append('"');
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (text.length() > shown) {
            return b.append("…\" (").append(text.length()).append(" chars)").toString();
        }
        return b.append('"').toString();
    }
}
