package io.simpletokenlimiter.tokens;

import tools.jackson.databind.JsonNode;

/**
 * Counts the prompt tokens vLLM will report for a request, before the request is sent.
 *
 * <p>An implementation may over-count, never under-count: the count is what the limiter reserves,
 * and an under-count would let a user exceed a limit.
 */
public interface PromptTokenCounter {

  /** Prompt tokens of a chat-completions request body (its {@code messages}, tools...). */
  PromptCount countChat(JsonNode chatRequest);

  /** Prompt tokens of a legacy completions request body ({@code prompt}: string or list). */
  PromptCount countCompletion(JsonNode completionRequest);

  /** True when counts are exact (a vocabulary is loaded), false for the safe upper bound. */
  boolean exact();
}
