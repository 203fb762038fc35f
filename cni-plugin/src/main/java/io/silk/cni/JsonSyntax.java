package io.silk.cni;

/**
 * Whether a text is one well-formed JSON object, without building it: the plugin checks its
 * stdin only when the daemon (which decodes it for real) cannot be reached, so that a malformed
 * configuration is reported as a decoding failure (code 6) and not as "try again later".
 */
final class JsonSyntax {

    private final String s;
    private int i;

    private JsonSyntax(String s) {
        this.s = s;
    }

    /** Null when {@code text} is a JSON object; else what is wrong and where. */
    static String objectProblem(String text) {
        JsonSyntax p = new JsonSyntax(text);
        try {
            p.space();
            if (p.i >= text.length()) {
                return "it is empty";
            }
            if (text.charAt(p.i) != '{') {
                return "it is not a JSON object";
            }
            p.value();
            p.space();
            return p.i == text.length() ? null : "unexpected text at offset " + p.i;
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
    }

    private void value() {
        space();
        char c = peek();
        switch (c) {
            case '{' -> members('}', true);
            case '[' -> members(']', false);
            case '"' -> string();
            case 't' -> word("true");
            case 'f' -> word("false");
            case 'n' -> word("null");
            default -> number();
        }
    }

    private void members(char close, boolean object) {
        i++;
        space();
        if (peek() == close) {
            i++;
            return;
        }
        while (true) {
            if (object) {
                space();
                if (peek() != '"') {
                    throw bad("expected a field name");
                }
                string();
                space();
                expect(':');
            }
            value();
            space();
            char c = peek();
            i++;
            if (c == close) {
                return;
            }
            if (c != ',') {
                throw bad("expected ',' or '" + close + "'", i - 1);
            }
        }
    }

    private void string() {
        for (i++; ; i++) {
            char c = peek();
            if (c == '"') {
                i++;
                return;
            }
            if (c < 0x20) {
                throw bad("control character in a string");
            }
            if (c == '\\') {
                i++;
                char e = peek();
                if (e == 'u') {
                    for (int k = 0; k < 4; k++) {
                        i++;
                        if (Character.digit(peek(), 16) < 0) {
                            throw bad("bad \\u escape");
                        }
                    }
                } else if ("\"\\/bfnrt".indexOf(e) < 0) {
                    throw bad("bad escape");
                }
            }
        }
    }

    private void number() {
        int start = i;
        if (peekOr('-')) {
            i++;
        }
        int digits = digits();
        if (digits == 0 || (digits > 1 && s.charAt(i - digits) == '0')) {
            throw bad("expected a value", start);
        }
        if (peekOr('.')) {
            i++;
            if (digits() == 0) {
                throw bad("bad number", start);
            }
        }
        if (peekOr('e') || peekOr('E')) {
            i++;
            if (peekOr('+') || peekOr('-')) {
                i++;
            }
            if (digits() == 0) {
                throw bad("bad number", start);
            }
        }
    }

    private int digits() {
        int n = 0;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
            n++;
        }
        return n;
    }

    private void word(String w) {
        if (!s.startsWith(w, i)) {
            throw bad("expected a value");
        }
        i += w.length();
    }

    private void expect(char c) {
        if (peek() != c) {
            throw bad("expected '" + c + "'");
        }
        i++;
    }

    private char peek() {
        if (i >= s.length()) {
            throw new IllegalStateException("it ends early, at offset " + s.length());
        }
        return s.charAt(i);
    }

    private boolean peekOr(char c) {
        return i < s.length() && s.charAt(i) == c;
    }

    private void space() {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) {
            i++;
        }
    }

    private IllegalStateException bad(String what) {
        return bad(what, i);
    }

    private static IllegalStateException bad(String what, int at) {
        return new IllegalStateException(what + " at offset " + at);
    }
}
