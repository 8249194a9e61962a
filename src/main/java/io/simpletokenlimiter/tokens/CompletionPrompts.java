package io.simpletokenlimiter.tokens;

import tools.jackson.databind.JsonNode;

/**
 * Counts the {@code prompt} of a legacy completions request in the forms vLLM accepts: a string, a
 * list of strings, a list of token ids, or a list of lists of token ids. vLLM puts {@code
 * <|begin_of_text|>} before each text prompt unless {@code add_special_tokens} is false; token-id
 * prompts are taken as they are. Anything else (which vLLM rejects) counts as the UTF-8 bytes of
 * its JSON, an over-count.
 */
final class CompletionPrompts {

  private static final PromptCount NONE = new PromptCount(0, 0, 0);

  private CompletionPrompts() {}

  static PromptCount count(JsonNode request, TextMeasure measure) {
    return count(request, measure, Long.MAX_VALUE);
  }

  /** Stops at the first prompt of more than {@code cap} tokens: the request cannot be served. */
  static PromptCount count(JsonNode request, TextMeasure measure, long cap) {
    JsonNode prompt = request.path("prompt");
    JsonNode addSpecialTokens = request.path("add_special_tokens");
    int bos = addSpecialTokens.isBoolean() && !addSpecialTokens.booleanValue() ? 0 : 1;
    if (prompt.isArray() && !prompt.isEmpty() && !isTokenIds(prompt)) {
      long total = 0;
      long largest = 0;
      for (JsonNode one : prompt) {
        long tokens = countOne(one, bos, measure, cap);
        total += tokens;
        largest = Math.max(largest, tokens);
        if (largest > cap) {
          break;
        }
      }
      return new PromptCount(total, largest, prompt.size());
    }
    if (prompt.isMissingNode() || prompt.isNull() || prompt.isEmpty() && prompt.isArray()) {
      return NONE;
    }
    return PromptCount.single(countOne(prompt, bos, measure, cap));
  }

  private static long countOne(JsonNode prompt, int bos, TextMeasure measure, long cap) {
    if (prompt.isString()) {
      return bos + measure.tokens(prompt.stringValue(), cap - bos);
    }
    if (isTokenIds(prompt)) {
      return prompt.size();
    }
    return Utf8Length.of(prompt.toString());
  }

  private static boolean isTokenIds(JsonNode prompt) {
    if (!prompt.isArray()) {
      return false;
    }
    for (JsonNode id : prompt) {
      if (!id.isIntegralNumber()) {
        return false;
      }
    }
    return true;
  }
}
