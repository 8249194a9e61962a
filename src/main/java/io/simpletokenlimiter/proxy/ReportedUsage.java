package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.limit.TokenUsage;
import java.util.Optional;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;

/**
 * Reads vLLM's {@code usage} objects: from a tree, or straight from a parser, which builds none.
 * Both read the same: the last of repeated fields counts, as in a tree.
 */
final class ReportedUsage {

  /** No integral number that fits a long; as it is negative, it counts as no number at all. */
  private static final long NONE = Long.MIN_VALUE;

  private ReportedUsage() {}

  /** The usage in {@code usage}; empty when it is absent, not numeric or negative. */
  static Optional<TokenUsage> from(JsonNode usage) {
    JsonNode prompt = usage.path("prompt_tokens");
    JsonNode completion = usage.path("completion_tokens");
    if (!prompt.canConvertToLong() || !prompt.isIntegralNumber() || prompt.longValue() < 0) {
      return Optional.empty();
    }
    long completionTokens =
        completion.isIntegralNumber() && completion.canConvertToLong()
            ? Math.max(0, completion.longValue())
            : 0;
    JsonNode cached = usage.path("prompt_tokens_details").path("cached_tokens");
    long cachedTokens =
        cached.isIntegralNumber() && cached.canConvertToLong()
            ? Math.min(prompt.longValue(), Math.max(0, cached.longValue()))
            : 0;
    return Optional.of(new TokenUsage(prompt.longValue(), completionTokens, cachedTokens));
  }

  /**
   * As {@link #from}, reading the object that starts at the parser's current {@code START_OBJECT}
   * up to its {@code END_OBJECT}, where it leaves the parser.
   */
  static Optional<TokenUsage> read(JsonParser parser) {
    long prompt = NONE;
    long completion = NONE;
    long cached = NONE;
    while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      switch (name) {
        case "prompt_tokens" -> prompt = integral(parser, value);
        case "completion_tokens" -> completion = integral(parser, value);
        case "prompt_tokens_details" -> cached = cachedTokens(parser, value);
        default -> parser.skipChildren();
      }
    }
    if (prompt < 0) {
      return Optional.empty();
    }
    return Optional.of(
        new TokenUsage(prompt, Math.max(0, completion), Math.min(prompt, Math.max(0, cached))));
  }

  private static long cachedTokens(JsonParser parser, JsonToken value) {
    if (value != JsonToken.START_OBJECT) {
      parser.skipChildren();
      return NONE;
    }
    long cached = NONE;
    while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
      JsonToken detail = parser.nextToken();
      if (parser.currentName().equals("cached_tokens")) {
        cached = integral(parser, detail);
      } else {
        parser.skipChildren();
      }
    }
    return cached;
  }

  /** The value if it is an integral number that fits a long, else {@link #NONE}; skips it. */
  private static long integral(JsonParser parser, JsonToken value) {
    if (value == JsonToken.VALUE_NUMBER_INT
        && parser.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
      return parser.getLongValue();
    }
    parser.skipChildren();
    return NONE;
  }
}
