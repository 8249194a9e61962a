package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.api.ApiException;
import io.simpletokenlimiter.api.ModelNames;
import io.simpletokenlimiter.api.PromptCountingLanes;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a generation request, checks what the limiter depends on, counts its prompt and decides
 * what to reserve for it.
 */
@Component
public class CompletionPreparer {

  private final CompletionRequestParser parser;
  private final PromptTokenCounter counter;
  private final ModelNames models;
  private final TokenLimitProperties.Model model;
  private final ReservationPolicy policy;
  private final PromptCountingLanes counting;

  public CompletionPreparer(
      JsonMapper json,
      PromptTokenCounter counter,
      ModelNames models,
      TokenLimitProperties.Model model,
      PromptCountingLanes counting) {
    this.parser = new CompletionRequestParser(json);
    this.counter = counter;
    this.models = models;
    this.model = model;
    this.policy = new ReservationPolicy(model);
    this.counting = counting;
  }

  public Mono<PreparedRequest> chat(byte[] body) {
    return prepare(Endpoint.CHAT, body);
  }

  public Mono<PreparedRequest> completions(byte[] body) {
    return prepare(Endpoint.COMPLETIONS, body);
  }

  private Mono<PreparedRequest> prepare(Endpoint endpoint, byte[] bytes) {
    // Small bodies are counted at once; large ones wait in their caller's bounded lane.
    return counting.run(bytes.length, () -> prepareNow(endpoint, bytes));
  }

  private PreparedRequest prepareNow(Endpoint endpoint, byte[] bytes) {
    CompletionRequest request = parser.parse(endpoint, bytes);
    request.model().ifPresent(models::requireKnown);
    PromptCount count = count(request);
    if (count.largestPromptTokens() >= model.maxModelLen()) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST,
          "request_too_large",
          "This model's maximum context length is %d tokens, but the prompt has at least %d tokens"
              .formatted(model.maxModelLen(), count.largestPromptTokens()));
    }
    return new PreparedRequest(request, count, policy.reservationFor(request, count));
  }

  private PromptCount count(CompletionRequest request) {
    try {
      return switch (request.endpoint()) {
        // A prompt past the context is refused whatever its exact count: stop counting there.
        case CHAT -> counter.countChat(request.body(), model.maxModelLen() - 1);
        case COMPLETIONS -> counter.countCompletion(request.body(), model.maxModelLen() - 1);
      };
    } catch (IllegalArgumentException e) {
      throw ApiException.invalidRequest("The prompt cannot be read: " + e.getMessage());
    }
  }
}
