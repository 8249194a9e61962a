package io.simpletokenlimiter.limit;

/**
 * What one request may cost at most: its prompt plus a completion budget per choice.
 *
 * <p>The store grants the largest completion budget in {@code [minCompletionPerChoice,
 * maxCompletionPerChoice]} that fits every window; a client that set {@code max_tokens} asks for
 * exactly that ({@code min == max}).
 */
public record ReservationRequest(
    long promptTokens, int choices, long minCompletionPerChoice, long maxCompletionPerChoice) {

  public ReservationRequest {
    if (promptTokens < 0
        || choices < 1
        || minCompletionPerChoice < 1
        || maxCompletionPerChoice < minCompletionPerChoice) {
      throw new IllegalArgumentException(
          "invalid reservation: prompt=%d choices=%d completion=[%d, %d]"
              .formatted(promptTokens, choices, minCompletionPerChoice, maxCompletionPerChoice));
    }
  }

  public static ReservationRequest fixed(long promptTokens, int choices, long completionPerChoice) {
    return new ReservationRequest(promptTokens, choices, completionPerChoice, completionPerChoice);
  }

  /** The most vLLM may serve with {@code completionPerChoice}, in tokens of each kind. */
  public TokenUsage usageWith(long completionPerChoice) {
    return new TokenUsage(promptTokens, choices * completionPerChoice);
  }
}
