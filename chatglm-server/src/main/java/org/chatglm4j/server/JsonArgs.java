package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;

/** Type-checked reads of request fields: a value of the wrong type is a 400 naming the field, never a crash. */
final class JsonArgs {
    private JsonArgs() {
    }

    static boolean present(JsonNode obj, String name) {
        JsonNode v = obj.get(name);
        return v != null && !v.isNull();
    }

    static Double number(JsonNode obj, String name) {
        if (!present(obj, name)) return null;
        JsonNode v = obj.get(name);
        if (!v.isNumber()) throw ApiError.badRequest(name, name + " must be a number, got " + kind(v));
        double d = v.asDouble();
        if (!Double.isFinite(d)) throw ApiError.badRequest(name, name + " must be a finite number");
        return d;
    }

    /** An integer (a whole number written as {@code 100.0} counts) within int range. */
    static Integer integer(JsonNode obj, String name) {
        Long l = longValue(obj, name);
        if (l == null) return null;
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw ApiError.badRequest(name, name + " is out of range: " + l);
        }
        return l.intValue();
    }

    static Long longValue(JsonNode obj, String name) {
        if (!present(obj, name)) return null;
        JsonNode v = obj.get(name);
        if (v.isIntegralNumber()) {
            if (!v.canConvertToLong()) throw ApiError.badRequest(name, name + " is out of range");
            return v.asLong();
        }
        if (v.isNumber()) {
            double d = v.asDouble();
            if (d == Math.rint(d) && Math.abs(d) < 9.0e15) return (long) d;
        }
        throw ApiError.badRequest(name, name + " must be an integer, got " + kind(v));
    }

    static Boolean bool(JsonNode obj, String name) {
        if (!present(obj, name)) return null;
        JsonNode v = obj.get(name);
        if (!v.isBoolean()) throw ApiError.badRequest(name, name + " must be true or false, got " + kind(v));
        return v.booleanValue();
    }

    static String string(JsonNode obj, String name) {
        if (!present(obj, name)) return null;
        JsonNode v = obj.get(name);
        if (!v.isTextual()) throw ApiError.badRequest(name, name + " must be a string, got " + kind(v));
        return v.textValue();
    }

    static String kind(JsonNode v) {
        if (v == null || v.isNull()) return "null";
        if (v.isTextual()) return "a string";
        if (v.isBoolean()) return "a boolean";
        if (v.isNumber()) return "a number";
        if (v.isArray()) return "an array";
        if (v.isObject()) return "an object";
        return v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}
