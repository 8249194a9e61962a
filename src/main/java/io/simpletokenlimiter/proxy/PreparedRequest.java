package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.tokens.PromptCount;

/** A request read, counted and ready to be admitted: what it is and the most it may cost. */
public record PreparedRequest(
    CompletionRequest request, PromptCount count, ReservationRequest reservation) {

  public boolean stream() {
    return request.stream();
  }

  /** The charge when only the prompt is known to have been processed. */
  TokenUsage promptOnly() {
    return new TokenUsage(count.totalTokens(), 0);
  }
}
