package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.limit.TokenUsage;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/** Reads vLLM's {@code usage} objects. */
final class ReportedUsage {

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
}
