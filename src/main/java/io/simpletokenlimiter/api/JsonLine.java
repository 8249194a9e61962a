package io.simpletokenlimiter.api;

import tools.jackson.core.io.JsonStringEncoder;

/**
 * One flat JSON object written field by field, for the usage events: it is on every request's path,
 * and a few times cheaper than serialising a map. Jackson's encoder escapes the strings.
 */
final class JsonLine {

  private static final JsonStringEncoder STRINGS = JsonStringEncoder.getInstance();

  private final StringBuilder out = new StringBuilder(400).append('{');

  JsonLine text(String name, String value) {
    name(name);
    if (value == null) {
      out.append("null");
    } else {
      out.append('"');
      STRINGS.quoteAsString(value, out);
      out.append('"');
    }
    return this;
  }

  JsonLine number(String name, long value) {
    name(name);
    out.append(value);
    return this;
  }

  JsonLine bool(String name, boolean value) {
    name(name);
    out.append(value);
    return this;
  }

  String end() {
    return out.append('}').toString();
  }

  private void name(String name) {
    if (out.length() > 1) {
      out.append(',');
    }
    out.append('"').append(name).append("\":");
  }
}
