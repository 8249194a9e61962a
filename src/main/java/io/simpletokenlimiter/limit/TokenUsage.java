package io.simpletokenlimiter.limit;

/** Tokens a request consumed, as vLLM reports them, or as the limiter charges them. */
public record TokenUsage(long promptTokens, long completionTokens) {

  public static final TokenUsage NONE = new TokenUsage(0, 0);

  public TokenUsage {
    if (promptTokens < 0 || completionTokens < 0) {
      throw new IllegalArgumentException(
          "token counts cannot be negative: prompt=%d completion=%d"
              .formatted(promptTokens, completionTokens));
    }
  }

  /** The whole reservation of a request whose prompt counted {@code promptTokens}. */
  public static TokenUsage reservation(long promptTokens, long reservedTokens) {
    return new TokenUsage(promptTokens, Math.max(0, reservedTokens - promptTokens));
  }

  public long total() {
    return promptTokens + completionTokens;
  }
}
