package io.simpletokenlimiter.api;

import java.util.Optional;
import tools.jackson.databind.JsonNode;

/** Tokens vLLM reports for an answer, or that we charge for one. */
record Usage(long promptTokens, long completionTokens) {

  static final Usage NONE = new Usage(0, 0);

  long total() {
    return promptTokens + completionTokens;
  }

  /** Reads vLLM's {@code usage} object; empty when it is absent or not numeric. */
  static Optional<Usage> from(JsonNode usage) {
    JsonNode prompt = usage.path("prompt_tokens");
    JsonNode completion = usage.path("completion_tokens");
    if (!prompt.isIntegralNumber()) {
      return Optional.empty();
    }
    long completionTokens = completion.isIntegralNumber() ? completion.longValue() : 0;
    return Optional.of(new Usage(prompt.longValue(), completionTokens));
  }
}
