package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Map;

/**
 * Python's {@code json.dumps(value, indent=4, ensure_ascii=False)}, which ChatGLM3 uses to write the tools of a
 * system message into the prompt: four-space indents, {@code ", "} → {@code ","} at line ends, {@code ": "}
 * between key and value, empty containers as {@code []} / {@code {}}, non-ASCII text as is.
 */
public final class PythonJson {
    private PythonJson() {
    }

    /** The text Python would write for {@code value}. */
    public static String dumpsIndent4(JsonNode value) {
        StringBuilder out = new StringBuilder();
        write(value, 0, out);
        return out.toString();
    }

    private static void write(JsonNode v, int depth, StringBuilder out) {
        if (v.isObject()) {
            if (v.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            Iterator<Map.Entry<String, JsonNode>> it = v.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                newline(depth + 1, out);
                string(e.getKey(), out);
                out.append(": ");
                write(e.getValue(), depth + 1, out);
                if (it.hasNext()) out.append(',');
            }
            newline(depth, out);
            out.append('}');
        } else if (v.isArray()) {
            if (v.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < v.size(); i++) {
                newline(depth + 1, out);
                write(v.get(i), depth + 1, out);
                if (i + 1 < v.size()) out.append(',');
            }
            newline(depth, out);
            out.append(']');
        } else if (v.isTextual()) {
            string(v.asText(), out);
        } else if (v.isFloatingPointNumber()) {
            out.append(pythonFloat(v.doubleValue()));
        } else {
            out.append(v.toString());   // integers (any size), true, false, null
        }
    }

    private static void newline(int depth, StringBuilder out) {
        out.append('\n');
        out.append("    ".repeat(depth));
    }

    /** {@code json.dumps} of a string with ensure_ascii=False: only quote, backslash and controls are escaped. */
    static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }

    /** Python's {@code float.__repr__}: shortest round-trip digits, exponent form below 1e-4 and from 1e16 on. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        java.math.BigDecimal bd = new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = bd.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - bd.scale();   // decimal exponent of the first digit
        String sign = d < 0 ? "-" : "";
        if (exp < -4 || exp >= 16) {
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        if (exp < 0) return sign + "0." + "0".repeat(-exp - 1) + digits;
        if (digits.length() <= exp + 1) return sign + digits + "0".repeat(exp + 1 - digits.length()) + ".0";
        return sign + digits.substring(0, exp + 1) + "." + digits.substring(exp + 1);
    }
}
