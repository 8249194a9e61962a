package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.api.ApiException;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.tokens.PromptCount;

/**
 * What to reserve for a request: its counted prompt plus the completion budget it may use. A
 * client's {@code max_tokens} is reserved exactly; without it, legacy completions get their
 * endpoint's default and chat gets the most that fits the model's context and the user's room, but
 * at least {@code min-completion-tokens}.
 */
final class ReservationPolicy {

  /** The legacy endpoint's own default (OpenAI's and vLLM's) is 16, not "the rest". */
  static final int LEGACY_DEFAULT_MAX_TOKENS = 16;

  private final TokenLimitProperties.Model model;

  ReservationPolicy(TokenLimitProperties.Model model) {
    this.model = model;
  }

  ReservationRequest reservationFor(CompletionRequest request, PromptCount count) {
    int choices;
    try {
      choices = Math.multiplyExact(request.choices(), count.prompts());
    } catch (ArithmeticException e) {
      throw ApiException.invalidRequest("'n' times the number of prompts is too large");
    }
    if (request.maxTokens().isPresent()) {
      return ReservationRequest.fixed(count.totalTokens(), choices, request.maxTokens().getAsInt());
    }
    if (request.endpoint() == Endpoint.COMPLETIONS) {
      return ReservationRequest.fixed(count.totalTokens(), choices, LEGACY_DEFAULT_MAX_TOKENS);
    }
    long contextLeft = model.maxModelLen() - count.largestPromptTokens();
    return new ReservationRequest(
        count.totalTokens(),
        choices,
        Math.min(model.minCompletionTokens(), contextLeft),
        contextLeft);
  }
}
