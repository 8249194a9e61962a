package io.simpletokenlimiter.limit;

/**
 * Tokens a request consumed, as vLLM reports them, or as the limiter charges them.
 *
 * @param cachedPromptTokens the prompt tokens vLLM served from its prefix cache (part of {@code
 *     promptTokens}), 0 when it does not say
 */
public record TokenUsage(long promptTokens, long completionTokens, long cachedPromptTokens) {

  public static final TokenUsage NONE = new TokenUsage(0, 0);

  public TokenUsage {
    if (promptTokens < 0 || completionTokens < 0 || cachedPromptTokens < 0) {
      throw new IllegalArgumentException(
          "token counts cannot be negative: prompt=%d completion=%d cached=%d"
              .formatted(promptTokens, completionTokens, cachedPromptTokens));
    }
  }

  /** Nothing known to be cached. */
  public TokenUsage(long promptTokens, long completionTokens) {
    this(promptTokens, completionTokens, 0);
  }

  public long total() {
    return promptTokens + completionTokens;
  }
}
