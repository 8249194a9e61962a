package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.api.ApiException;
import io.simpletokenlimiter.api.ModelNames;
import io.simpletokenlimiter.api.PromptCountingConfiguration;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a generation request, checks what the limiter depends on, counts its prompt and decides
 * what to reserve for it.
 */
@Component
public class CompletionPreparer {

  /**
   * Bodies above this are parsed and counted off the event loop: tokenizing is CPU work (about a
   * millisecond per kilobyte for text the split pattern cannot break up).
   */
  private static final int OFFLOAD_ABOVE_BYTES = 1024;

  private final CompletionRequestParser parser;
  private final PromptTokenCounter counter;
  private final ModelNames models;
  private final TokenLimitProperties.Model model;
  private final ReservationPolicy policy;
  private final Scheduler counting;

  public CompletionPreparer(
      JsonMapper json,
      PromptTokenCounter counter,
      ModelNames models,
      TokenLimitProperties.Model model,
      @Qualifier(PromptCountingConfiguration.SCHEDULER) Scheduler counting) {
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
    Mono<PreparedRequest> work = Mono.fromCallable(() -> prepareNow(endpoint, bytes));
    return bytes.length > OFFLOAD_ABOVE_BYTES ? work.subscribeOn(counting) : work;
  }

  private PreparedRequest prepareNow(Endpoint endpoint, byte[] bytes) {
    CompletionRequest request = parser.parse(endpoint, bytes);
    request.model().ifPresent(models::requireKnown);
    PromptCount count = count(request);
    if (count.largestPromptTokens() >= model.maxModelLen()) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST,
          "request_too_large",
          "This model's maximum context length is %d tokens, but the prompt has %d tokens"
              .formatted(model.maxModelLen(), count.largestPromptTokens()));
    }
    return new PreparedRequest(request, count, policy.reservationFor(request, count));
  }

  private PromptCount count(CompletionRequest request) {
    try {
      return switch (request.endpoint()) {
        case CHAT -> counter.countChat(request.body());
        case COMPLETIONS -> counter.countCompletion(request.body());
      };
    } catch (IllegalArgumentException e) {
      throw ApiException.invalidRequest("The prompt cannot be read: " + e.getMessage());
    }
  }
}
