package org.xenpci.libxl.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads xl domain configuration files with the syntax of libxlu_cfg (libxlu_cfg_l.l lexer,
 * libxlu_cfg_y.y grammar), then hands the settings to {@link XlConfig} for interpretation.
 *
 * <p>Syntax accepted:
 * <ul>
 *   <li>statements {@code key = value} and {@code key += value}, ended by a newline, {@code ;}
 *       or the end of the file; empty statements are allowed;</li>
 *   <li>keys {@code [a-z][_0-9a-z]*} (upper case is a syntax error, as in xl);</li>
 *   <li>values: numbers {@code [0-9][0-9a-fx]*} kept as text; strings in {@code "..."} or
 *       {@code '...'} with the escapes {@code \" \' \\ \a \b \f \n \r \t \v}; lists
 *       {@code [ v, v, ]} with an optional trailing comma, newlines and comments allowed
 *       anywhere inside, nesting allowed;</li>
 *   <li>{@code #} comments to the end of the line; blanks and tabs between tokens.</li>
 * </ul>
 * Lists nest at most {@link #MAX_LIST_DEPTH} deep; deeper is an {@link XlConfigException}
 * ({@code memory exhausted}, the words of xl's bison parser when its stack of
 * {@code YYMAXDEPTH} 10000 states is full; the model's limit is lower, to stay within the Java
 * stack).
 * A repeated key replaces the earlier value (the last one wins); {@code +=} concatenates with an
 * earlier value of the same type (string to string, list to list).
 *
 * <p>Stateless and thread-safe.
 */
public final class XlConfigParser {

    /** The deepest list nesting accepted ({@code [[...]]} 1000 deep). */
    public static final int MAX_LIST_DEPTH = 1000;

    private XlConfigParser() {
    }

    /**
     * Parses and interprets a config file.
     *
     * @param file the file; its name (as given) is used in messages
     * @return the config
     * @throws XlConfigException on a syntax error or a value xl would reject
     * @throws IOException       if the file cannot be read
     */
    public static XlConfig parse(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * Parses and interprets config text.
     *
     * @param text     the content
     * @param fileName name used in messages and warnings
     * @return the config
     * @throws XlConfigException on a syntax error or a value xl would reject
     */
    public static XlConfig parse(String text, String fileName) {
        return XlConfig.interpret(parseSettings(text, fileName), fileName);
    }

    /**
     * Parses config text into raw settings without interpreting any key.
     *
     * @param text     the content
     * @param fileName name used in messages
     * @return settings by key, in order of each key's first appearance; each holds the final value
     * @throws XlConfigException on a lexical or syntax error
     */
    public static Map<String, XlSetting> parseSettings(String text, String fileName) {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(fileName, "fileName");
        return new Grammar(new Lexer(text, fileName), fileName).file();
    }

    private enum Kind { IDENT, NUMBER, STRING, NEWLINE, SEMI, ASSIGN, APPEND, LBRACKET, RBRACKET, COMMA, EOF }

    private record Token(Kind kind, String text, String raw, int line, int column) {
    }

    /** Hand-written equivalent of libxlu_cfg_l.l. */
    private static final class Lexer {
        private final String s;
        private final String fileName;
        private int pos;
        private int line = 1;
        private int lineStart;

        Lexer(String s, String fileName) {
            this.s = s;
            this.fileName = fileName;
        }

        Token next() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t')) {
                pos++;
            }
            int col = pos - lineStart + 1;
            if (pos >= s.length()) {
                return new Token(Kind.EOF, "", "", line, col);
            }
            char c = s.charAt(pos);
            int start = pos;
            if (c == '#') {
                // A comment runs to the end of the line and stands for the newline.
                while (pos < s.length() && s.charAt(pos) != '\n') {
                    pos++;
                }
                return newline(start, col);
            }
            if (c == '\n') {
                return newline(start, col);
            }
            if (c >= 'a' && c <= 'z') {
                pos++;
                while (pos < s.length() && isIdentChar(s.charAt(pos))) {
                    pos++;
                }
                String t = s.substring(start, pos);
                return new Token(Kind.IDENT, t, t, line, col);
            }
            if (c >= '0' && c <= '9') {
                pos++;
                while (pos < s.length() && isNumberChar(s.charAt(pos))) {
                    pos++;
                }
                String t = s.substring(start, pos);
                return new Token(Kind.NUMBER, t, t, line, col);
            }
            if (c == '"' || c == '\'') {
                return string(c, col);
            }
            pos++;
            switch (c) {
                case ';': return new Token(Kind.SEMI, ";", ";", line, col);
                case '=': return new Token(Kind.ASSIGN, "=", "=", line, col);
                case '[': return new Token(Kind.LBRACKET, "[", "[", line, col);
                case ']': return new Token(Kind.RBRACKET, "]", "]", line, col);
                case ',': return new Token(Kind.COMMA, ",", ",", line, col);
                case '+':
                    if (pos < s.length() && s.charAt(pos) == '=') {
                        pos++;
                        return new Token(Kind.APPEND, "+=", "+=", line, col);
                    }
                    break;
                default:
                    break;
            }
            // Any other character reaches the grammar as itself and is a syntax error there.
            throw syntaxError(line, col, String.valueOf(c));
        }

        private Token newline(int start, int col) {
            String raw = s.substring(start, pos);
            Token t = new Token(Kind.NEWLINE, "\n", raw, line, col);
            if (pos < s.length()) {
                pos++; // the '\n'
                line++;
                lineStart = pos;
            }
            return t;
        }

        private Token string(char quote, int col) {
            int start = pos;
            StringBuilder out = new StringBuilder();
            pos++;
            while (true) {
                if (pos >= s.length() || s.charAt(pos) == '\n') {
                    throw new XlConfigException(fileName, line, col,
                            "config parsing error near `" + s.substring(start, pos) + "': unterminated string", null);
                }
                char c = s.charAt(pos++);
                if (c == quote) {
                    break;
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                if (pos >= s.length() || s.charAt(pos) == '\n') {
                    continue; // reported as unterminated on the next iteration
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case '"': case '\'': case '\\': out.append(e); break;
                    case 'a': out.append('\u0007'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'n': out.append('\n'); break;
                    case 'r': out.append('\r'); break;
                    case 't': out.append('\t'); break;
                    case 'v': out.append('\u000b'); break;
                    default:
                        // \x.. and octal escapes are broken upstream (xlu__cfgl_dequote never stores the
                        // value and \x always fails); the model rejects every numeric escape.
                        throw new XlConfigException(fileName, line, col, "config parsing error near `"
                                + s.substring(start, pos) + "': " + (e == 'x'
                                ? "invalid digit after backslash hex numerical character escape in quoted string"
                                : "invalid character after backlash in quoted string"), null);
                }
            }
            return new Token(Kind.STRING, out.toString(), s.substring(start, pos), line, col);
        }

        private static boolean isIdentChar(char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        }

        private static boolean isNumberChar(char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == 'x';
        }

        XlConfigException syntaxError(int l, int col, String near) {
            return new XlConfigException(fileName, l, col, "config parsing error near `" + near + "': syntax error", null);
        }
    }

    /** Recursive-descent equivalent of libxlu_cfg_y.y. */
    private static final class Grammar {
        private final Lexer lexer;
        private final String fileName;
        private Token tok;
        private final Map<String, XlSetting> settings = new LinkedHashMap<>();

        Grammar(Lexer lexer, String fileName) {
            this.lexer = lexer;
            this.fileName = fileName;
            this.tok = lexer.next();
        }

        Map<String, XlSetting> file() {
            while (tok.kind() != Kind.EOF) {
                if (tok.kind() == Kind.NEWLINE || tok.kind() == Kind.SEMI) {
                    advance();
                    continue;
                }
                Token key = expect(Kind.IDENT);
                boolean append;
                if (tok.kind() == Kind.ASSIGN) {
                    append = false;
                } else if (tok.kind() == Kind.APPEND) {
                    append = true;
                } else {
                    throw error();
                }
                advance();
                XlValue value = value(0);
                if (tok.kind() != Kind.NEWLINE && tok.kind() != Kind.SEMI && tok.kind() != Kind.EOF) {
                    throw error();
                }
                store(key, append, value);
            }
            return settings;
        }

        private void store(Token key, boolean append, XlValue value) {
            XlSetting prev = settings.get(key.text());
            XlValue v = value;
            if (append && prev != null) {
                v = concat(prev.value(), value, key);
            }
            // One entry per key: put() on an existing key keeps its first-appearance position.
            settings.put(key.text(), new XlSetting(key.text(), v, append, key.line()));
        }

        private XlValue concat(XlValue prev, XlValue add, Token key) {
            if (prev instanceof XlValue.Atom && add instanceof XlValue.Atom) {
                XlValue.Atom a = (XlValue.Atom) prev;
                XlValue.Atom b = (XlValue.Atom) add;
                return new XlValue.Atom(a.text() + b.text(), a.quoted() || b.quoted(), b.line(), b.column());
            }
            if (prev instanceof XlValue.ListValue && add instanceof XlValue.ListValue) {
                List<XlValue> items = new ArrayList<>(((XlValue.ListValue) prev).items());
                items.addAll(((XlValue.ListValue) add).items());
                return new XlValue.ListValue(items, add.line(), add.column());
            }
            throw new XlConfigException(fileName, key.line(), key.column(),
                    "config parsing error near `" + key.text() + "': can't add [list] to \"string\" or vice versa", null);
        }

        private XlValue value(int depth) {
            if (tok.kind() == Kind.STRING || tok.kind() == Kind.NUMBER) {
                XlValue v = new XlValue.Atom(tok.text(), tok.kind() == Kind.STRING, tok.line(), tok.column());
                advance();
                return v;
            }
            if (tok.kind() != Kind.LBRACKET) {
                throw error();
            }
            Token open = tok;
            if (depth >= MAX_LIST_DEPTH) {
                // Found by XlInputFuzzTest: 50,000 '[' overflowed the Java stack.
                throw new XlConfigException(fileName, open.line(), open.column(),
                        "config parsing error near `[': memory exhausted (lists nested deeper than " + MAX_LIST_DEPTH + ")", null);
            }
            advance();
            skipNewlines();
            List<XlValue> items = new ArrayList<>();
            while (tok.kind() != Kind.RBRACKET) {
                items.add(value(depth + 1));
                skipNewlines();
                if (tok.kind() == Kind.COMMA) {
                    advance();
                    skipNewlines();
                } else if (tok.kind() != Kind.RBRACKET) {
                    throw error();
                }
            }
            advance();
            return new XlValue.ListValue(items, open.line(), open.column());
        }

        private void skipNewlines() {
            while (tok.kind() == Kind.NEWLINE) {
                advance();
            }
        }

        private Token expect(Kind k) {
            if (tok.kind() != k) {
                throw error();
            }
            Token t = tok;
            advance();
            return t;
        }

        private void advance() {
            tok = lexer.next();
        }

        /** xl's "config parsing error near `TOKEN': syntax error"; a newline shows as {@code <newline>}. */
        private XlConfigException error() {
            String near;
            int line = tok.line();
            if (tok.kind() == Kind.NEWLINE) {
                String raw = tok.raw().strip();
                near = raw.isEmpty() ? "<newline>" : raw;
            } else if (tok.kind() == Kind.EOF) {
                near = "<end of file>";
            } else {
                near = tok.raw();
            }
            if (near.equals("<newline>") || near.equals("<end of file>")) {
                return new XlConfigException(fileName, line, tok.column(),
                        "config parsing error near " + near + ": syntax error", null);
            }
            return lexer.syntaxError(line, tok.column(), near);
        }
    }
}
