package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.upstream.UpstreamResponse;
import io.simpletokenlimiter.upstream.UpstreamUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Relays a non-streamed answer: reads it whole (up to a bound), shows the public model name,
 * settles the lease to the reported usage and sends the answer without waiting for the settle.
 */
final class AnswerRelay {

  private static final Logger log = LoggerFactory.getLogger(AnswerRelay.class);

  private final AnswerRewrite rewrite;
  private final int maxAnswerBytes;

  AnswerRelay(JsonMapper json, String publicModel, int maxAnswerBytes) {
    this.rewrite = new AnswerRewrite(json, publicModel);
    this.maxAnswerBytes = maxAnswerBytes;
  }

  Mono<ClientAnswer> relay(UpstreamResponse response, Lease lease, TokenUsage reservation) {
    return response
        .bodyBytes(maxAnswerBytes)
        .onErrorResume(
            UpstreamResponse.AnswerTooLargeException.class,
            tooLarge -> {
              // vLLM did the work: the reservation is charged, and nothing more is buffered.
              lease.fail(reservation);
              return Mono.error(new UpstreamUnavailableException(tooLarge.getMessage(), tooLarge));
            })
        .map(
            bytes -> {
              Answer answer = rewrite(bytes, reservation);
              lease.settle(answer.usage());
              return ClientAnswer.whole(HttpStatus.OK, MediaType.APPLICATION_JSON, answer.bytes());
            });
  }

  /** The answer with the public model name, and its usage (the whole reservation if absent). */
  private Answer rewrite(byte[] bytes, TokenUsage reservation) {
    return rewrite
        .rewrite(bytes)
        .map(rewritten -> new Answer(rewritten.bytes(), rewritten.usage().orElse(reservation)))
        .orElseGet(
            () -> {
              log.warn(
                  "vLLM answered 2xx with a body that is not a JSON object; charging the reservation");
              return new Answer(bytes, reservation);
            });
  }

  private record Answer(byte[] bytes, TokenUsage usage) {}
}
