package io.simpletokenlimiter.tokens;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * JSON text as Python's {@code json.dumps(value, ensure_ascii=False)} writes it, which is what the
 * chat template's {@code tojson} filter produces (Hugging Face's own filter: no HTML escaping, key
 * order kept). Without indent the separators are {@code ", "} and {@code ": "}; with an indent
 * every item is on its own line. Token counts depend on these spaces, so the Jackson output will
 * not do.
 */
final class PythonJson {

  private static final String NO_INDENT = "";

  private PythonJson() {}

  /** {@code json.dumps(value)}. */
  static String dumps(JsonNode value) {
    StringBuilder out = new StringBuilder();
    write(value, NO_INDENT, 0, out);
    return out.toString();
  }

  /** {@code json.dumps(value, indent=indent)} appended to {@code out}. */
  static void dumps(JsonNode value, int indent, StringBuilder out) {
    write(value, " ".repeat(indent), 0, out);
  }

  /** {@code json.dumps(text)}: the string quoted and escaped. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2);
    writeString(text, out);
    return out.toString();
  }

  private static void write(JsonNode value, String indent, int depth, StringBuilder out) {
    if (value.isObject()) {
      writeObject(value, indent, depth, out);
    } else if (value.isArray()) {
      writeArray(value, indent, depth, out);
    } else if (value.isString()) {
      writeString(value.stringValue(), out);
    } else if (value.isIntegralNumber()) {
      out.append(value.numberValue());
    } else if (value.isNumber()) {
      out.append(pythonFloat(value.asDouble()));
    } else if (value.isBoolean()) {
      out.append(value.booleanValue() ? "true" : "false");
    } else {
      out.append("null");
    }
  }

  private static void writeObject(JsonNode object, String indent, int depth, StringBuilder out) {
    if (object.isEmpty()) {
      out.append("{}");
      return;
    }
    out.append('{');
    Iterator<Map.Entry<String, JsonNode>> properties = object.properties().iterator();
    while (properties.hasNext()) {
      Map.Entry<String, JsonNode> property = properties.next();
      newLine(indent, depth + 1, out);
      writeString(property.getKey(), out);
      out.append(": ");
      write(property.getValue(), indent, depth + 1, out);
      if (properties.hasNext()) {
        out.append(indent.isEmpty() ? ", " : ",");
      }
    }
    newLine(indent, depth, out);
    out.append('}');
  }

  private static void writeArray(JsonNode array, String indent, int depth, StringBuilder out) {
    if (array.isEmpty()) {
      out.append("[]");
      return;
    }
    out.append('[');
    for (int i = 0; i < array.size(); i++) {
      newLine(indent, depth + 1, out);
      write(array.get(i), indent, depth + 1, out);
      if (i < array.size() - 1) {
        out.append(indent.isEmpty() ? ", " : ",");
      }
    }
    newLine(indent, depth, out);
    out.append(']');
  }

  private static void newLine(String indent, int depth, StringBuilder out) {
    if (!indent.isEmpty()) {
      out.append('\n');
      out.append(indent.repeat(depth));
    }
  }

  private static void writeString(String text, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append("\\u00").append(Character.forDigit(c >> 4, 16));
            out.append(Character.forDigit(c & 0xF, 16));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** Python's {@code repr(float)}: positional between 1e-4 and 1e16, else {@code 1e-05} style. */
  static String pythonFloat(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "Infinity" : "-Infinity";
    }
    if (value == 0) {
      return 1 / value < 0 ? "-0.0" : "0.0";
    }
    BigDecimal decimal = new BigDecimal(Double.toString(value)).stripTrailingZeros();
    String digits = decimal.unscaledValue().abs().toString();
    int exponent = digits.length() - 1 - decimal.scale();
    String sign = value < 0 ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
      String plain = decimal.abs().toPlainString();
      return sign + (plain.indexOf('.') < 0 ? plain + ".0" : plain);
    }
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    String exponentDigits = Integer.toString(Math.abs(exponent));
    return sign
        + mantissa
        + (exponent < 0 ? "e-" : "e+")
        + (exponentDigits.length() == 1 ? "0" : "")
        + exponentDigits;
  }
}
