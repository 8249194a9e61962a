package io.simpletokenlimiter.tokens;

import tools.jackson.databind.JsonNode;

/**
 * Counts the prompt tokens vLLM will report for a request, before the request is sent.
 *
 * <p>An implementation may over-count, never under-count: the count is what the limiter reserves,
 * and an under-count would let a user exceed a limit.
 *
 * <p>With a cap, work is bounded by the cap rather than by the body: once a prompt is known to have
 * more than {@code cap} tokens, counting stops and that prompt's count is some number above {@code
 * cap} (not its exact count). A caller passes {@code max_model_len - 1}: such a prompt can never be
 * served, and the answer is known.
 */
public interface PromptTokenCounter {

  /** Prompt tokens of a chat-completions request body (its {@code messages}, tools...). */
  default PromptCount countChat(JsonNode chatRequest) {
    return countChat(chatRequest, Long.MAX_VALUE);
  }

  /** As {@link #countChat(JsonNode)}, stopping once the prompt has more than {@code cap} tokens. */
  PromptCount countChat(JsonNode chatRequest, long cap);

  /** Prompt tokens of a legacy completions request body ({@code prompt}: string or list). */
  default PromptCount countCompletion(JsonNode completionRequest) {
    return countCompletion(completionRequest, Long.MAX_VALUE);
  }

  /**
   * As {@link #countCompletion(JsonNode)}, stopping once one prompt has more than {@code cap}
   * tokens; {@link PromptCount#largestPromptTokens()} is then above {@code cap}.
   */
  PromptCount countCompletion(JsonNode completionRequest, long cap);

  /** True when counts are exact (a vocabulary is loaded), false for the safe upper bound. */
  boolean exact();
}
