package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;

import java.math.BigInteger;

/**
 * Reads the {@code tool_call(name=value, ...)} line of a ChatGLM3 tool call into a JSON object. The reference
 * {@code eval}s it with {@code tool_call(**kwargs) = kwargs}; here only keyword arguments whose values are Python
 * literals are accepted (strings, numbers, True/False/None, lists, tuples, dicts), which is what the model is
 * trained to write, and anything else is a {@link ChatGlmException} (the reference would run arbitrary code).
 */
public final class ToolCallExpression {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private final String s;
    private int pos;

    private ToolCallExpression(String s) {
        this.s = s;
    }

    /** The keyword arguments of {@code tool_call(...)} in {@code source}, in order (a repeated name is an error). */
    public static ObjectNode parse(String source) {
        ToolCallExpression p = new ToolCallExpression(source);
        p.skipSpace();
        p.expectWord("tool_call");
        p.skipSpace();
        p.expect('(');
        ObjectNode args = F.objectNode();
        p.skipSpace();
        while (!p.peek(')')) {
            int start = p.pos;
            String name = p.identifier();
            p.skipSpace();
            if (!p.peek('=')) throw p.error("tool_call takes keyword arguments only", start);
            p.pos++;
            JsonNode value = p.value();
            if (args.has(name)) throw p.error("keyword argument repeated: " + name, start);
            args.set(name, value);
            p.skipSpace();
            if (p.peek(',')) {
                p.pos++;
                p.skipSpace();
            } else if (!p.peek(')')) {
                throw p.error("expected ',' or ')'", p.pos);
            }
        }
        p.pos++;
        p.skipSpace();
        if (p.pos != source.length()) throw p.error("unexpected text after tool_call(...)", p.pos);
        return args;
    }

    private JsonNode value() {
        skipSpace();
        if (pos >= s.length()) throw error("a value is missing", pos);
        char c = s.charAt(pos);
        if (c == '"' || c == '\'') return F.textNode(stringLiterals());
        if (c == '[') return sequence(']');
        if (c == '(') return sequence(')');
        if (c == '{') return dict();
        if (c == '-' || c == '+' || c == '.' || Character.isDigit(c)) return number();
        int start = pos;
        String word = identifier();
        if ((peek('"') || peek('\'')) && word.matches("[rRuU]")) {
            pos = start;
            return F.textNode(stringLiterals());
        }
        return switch (word) {
            case "True" -> F.booleanNode(true);
            case "False" -> F.booleanNode(false);
            case "None" -> F.nullNode();
            default -> throw error("not a literal: " + word, start);
        };
    }

    /** A list or tuple; both become JSON arrays (a one-element tuple needs its comma, as in Python). */
    private JsonNode sequence(char close) {
        pos++;
        ArrayNode out = F.arrayNode();
        skipSpace();
        boolean comma = false;
        while (!peek(close)) {
            out.add(value());
            skipSpace();
            comma = false;
            if (peek(',')) {
                pos++;
                comma = true;
                skipSpace();
            } else if (!peek(close)) {
                throw error("expected ',' or '" + close + "'", pos);
            }
        }
        pos++;
        if (close == ')' && out.size() == 1 && !comma) return out.get(0);   // (x) is just x
        return out;
    }

    private JsonNode dict() {
        pos++;
        ObjectNode out = F.objectNode();
        skipSpace();
        while (!peek('}')) {
            int start = pos;
            JsonNode key = value();
            if (!key.isValueNode()) throw error("a dict key must be a string, number, bool or None", start);
            skipSpace();
            expect(':');
            JsonNode v = value();
            // json.dumps writes keys as strings: True -> "true", None -> "null", 1 -> "1"
            out.set(key.isTextual() ? key.asText() : key.toString(), v);
            skipSpace();
            if (peek(',')) {
                pos++;
                skipSpace();
            } else if (!peek('}')) {
                throw error("expected ',' or '}'", pos);
            }
        }
        pos++;
        return out;
    }

    private JsonNode number() {
        int start = pos;
        boolean negative = false;
        while (pos < s.length() && (s.charAt(pos) == '-' || s.charAt(pos) == '+')) {
            if (s.charAt(pos) == '-') negative = !negative;
            pos++;
            skipSpace();
        }
        int digits = pos;
        while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '.' || s.charAt(pos) == '_'
                || ((s.charAt(pos) == '-' || s.charAt(pos) == '+') && (s.charAt(pos - 1) == 'e' || s.charAt(pos - 1) == 'E')))) {
            pos++;
        }
        String text = s.substring(digits, pos).replace("_", "");
        if (text.isEmpty()) throw error("a number is missing", start);
        try {
            if (text.matches("[0-9]+")) {
                if (text.length() > 1 && text.charAt(0) == '0' && !text.matches("0+")) {
                    throw error("leading zeros are not allowed", start);
                }
                return number(new BigInteger(text), negative);
            }
            if (text.matches("0[xX][0-9a-fA-F]+")) return number(new BigInteger(text.substring(2), 16), negative);
            if (text.matches("([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?")) {
                double d = Double.parseDouble(text);
                return F.numberNode(negative ? -d : d);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw error("not a number: " + text, start);
    }

    /** The node types Jackson reads JSON integers into, so that parsed arguments compare equal to parsed JSON. */
    private static JsonNode number(BigInteger v, boolean negative) {
        if (negative) v = v.negate();
        if (v.bitLength() < 32) return F.numberNode(v.intValue());
        return v.bitLength() < 64 ? F.numberNode(v.longValue()) : F.numberNode(v);
    }

    /** One or more adjacent string literals (Python joins them), with Python's escapes and prefixes r/u/b. */
    private String stringLiterals() {
        StringBuilder out = new StringBuilder();
        do {
            out.append(stringLiteral());
            skipSpace();
        } while (pos < s.length() && (s.charAt(pos) == '"' || s.charAt(pos) == '\''
                || "rRuU".indexOf(s.charAt(pos)) >= 0 && pos + 1 < s.length() && "\"'".indexOf(s.charAt(pos + 1)) >= 0));
        return out.toString();
    }

    private String stringLiteral() {
        int start = pos;
        boolean raw = false;
        if ("rRuU".indexOf(s.charAt(pos)) >= 0) raw = "rR".indexOf(s.charAt(pos++)) >= 0;
        char q = s.charAt(pos);
        boolean triple = s.startsWith(String.valueOf(q).repeat(3), pos);
        pos += triple ? 3 : 1;
        StringBuilder out = new StringBuilder();
        while (true) {
            if (pos >= s.length()) throw error("unterminated string", start);
            char c = s.charAt(pos);
            if (triple ? s.startsWith(String.valueOf(q).repeat(3), pos) : c == q) {
                pos += triple ? 3 : 1;
                return out.toString();
            }
            if (c == '\n' && !triple) throw error("unterminated string", start);
            if (c != '\\') {
                out.append(c);
                pos++;
                continue;
            }
            if (raw) {   // a raw string keeps the backslash and the character after it
                if (pos + 1 >= s.length()) throw error("unterminated string", start);
                out.append(c).append(s.charAt(pos + 1));
                pos += 2;
                continue;
            }
            if (pos + 1 >= s.length()) throw error("unterminated string", start);
            char e = s.charAt(pos + 1);
            pos += 2;
            switch (e) {
                case '\n' -> { }
                case '\\', '\'', '"' -> out.append(e);
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'v' -> out.append('\u000b');
                case 'a' -> out.append('\u0007');
                case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                    int end = pos - 1;
                    while (end < s.length() && end < pos + 2 && s.charAt(end) >= '0' && s.charAt(end) <= '7') end++;
                    out.appendCodePoint(Integer.parseInt(s.substring(pos - 1, end), 8));
                    pos = end;
                }
                case 'x' -> out.appendCodePoint(hex(2, start));
                case 'u' -> out.appendCodePoint(hex(4, start));
                case 'U' -> out.appendCodePoint(hex(8, start));
                default -> out.append('\\').append(e);   // Python keeps unknown escapes as written
            }
        }
    }

    private int hex(int n, int start) {
        if (pos + n > s.length()) throw error("truncated escape", start);
        try {
            int cp = Integer.parseInt(s.substring(pos, pos + n), 16);
            if (!Character.isValidCodePoint(cp)) throw error("invalid escape", start);
            pos += n;
            return cp;
        } catch (NumberFormatException e) {
            throw error("invalid escape", start);
        }
    }

    private String identifier() {
        int start = pos;
        while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) pos++;
        if (pos == start || Character.isDigit(s.charAt(start))) throw error("expected a name", start);
        return s.substring(start, pos);
    }

    private void expectWord(String w) {
        int start = pos;
        if (!w.equals(identifier())) throw error("expected " + w + "(...)", start);
    }

    private void expect(char c) {
        skipSpace();
        if (!peek(c)) throw error("expected '" + c + "'", pos);
        pos++;
    }

    private boolean peek(char c) {
        return pos < s.length() && s.charAt(pos) == c;
    }

    private void skipSpace() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
    }

    private ChatGlmException error(String what, int at) {
        return new ChatGlmException("the model's tool call is not a tool_call(...) of literals (" + what
                + " at offset " + at + ")");
    }
}
