package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.server.LoopTimers;
import io.simpletokenlimiter.upstream.UpstreamClient;
import io.simpletokenlimiter.upstream.UpstreamResponse;
import io.simpletokenlimiter.upstream.UpstreamUnavailableException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Forwards an admitted request to vLLM and relays the answer, settling its lease once per outcome:
 * the answer's usage, nothing for an upstream failure or a vLLM 4xx, and — through the lease's
 * abandon charge, which rises as the request gets further — what is known to have been produced
 * when the client leaves.
 */
@Component
public class CompletionForwarder {

  private final UpstreamClient upstream;
  private final JsonMapper json;
  private final TokenLimitProperties.Model model;
  private final AnswerRelay answers;
  private final Duration answerTimeout;

  public CompletionForwarder(
      UpstreamClient upstream,
      JsonMapper json,
      TokenLimitProperties.Model model,
      TokenLimitProperties.Upstream settings) {
    this.upstream = upstream;
    this.json = json;
    this.model = model;
    this.answers =
        new AnswerRelay(
            json, model.publicName(), Math.toIntExact(settings.maxAnswerSize().toBytes()));
    this.answerTimeout = settings.answerTimeout();
  }

  /**
   * Forwards {@code prepared} under {@code lease} and relays vLLM's answer to {@code client};
   * {@code firstChunk} runs when a stream's first event goes to the client.
   */
  public Mono<Void> forward(
      PreparedRequest prepared, Lease lease, Runnable firstChunk, ServerHttpResponse client) {
    return answer(prepared, lease, firstChunk).flatMap(decided -> decided.writeTo(client));
  }

  private Mono<ClientAnswer> answer(PreparedRequest prepared, Lease lease, Runnable firstChunk) {
    TokenUsage reservation = lease.wholeReservation();
    // Once the request goes out vLLM may be working: a stream has produced nothing before its
    // first chunk, but a whole answer is being generated and vLLM will not say how much of it it
    // made. Until then, a client that leaves costs nothing.
    TokenUsage ifAbandoned = prepared.stream() ? prepared.promptOnly() : reservation;
    BooleanSupplier sending = () -> lease.chargeIfAbandonedUnlessEnded(() -> ifAbandoned);
    return Mono.defer(
            () -> {
              byte[] body =
                  UpstreamRequestBody.write(
                      json,
                      prepared.request(),
                      model.upstreamName(),
                      lease.completionTokensPerChoice());
              String path = prepared.request().endpoint().upstreamPath();
              return prepared.stream()
                  ? upstream
                      .post(path, body, MediaType.TEXT_EVENT_STREAM, sending)
                      .flatMap(
                          response ->
                              relayStream(response, prepared, lease, reservation, firstChunk))
                  : withinAnswerTimeout(
                      upstream
                          .post(path, body, MediaType.APPLICATION_JSON, sending)
                          .flatMap(response -> relayAnswer(response, lease, reservation)),
                      lease,
                      reservation);
            })
        // An upstream failure (unreachable, 5xx, timeout, breaker open): nothing was served.
        .doOnError(error -> lease.release());
  }

  /** A whole answer must be in within the answer timeout; past it, the reservation is charged. */
  private Mono<ClientAnswer> withinAnswerTimeout(
      Mono<ClientAnswer> answer, Lease lease, TokenUsage reservation) {
    return answer
        // named: else the timeout works a name out of the chain per request
        .name("vllm-answer")
        .timeout(answerTimeout, LoopTimers.INSTANCE)
        .onErrorMap(TimeoutException.class, e -> deadlinePassed(lease, reservation));
  }

  private Mono<ClientAnswer> relayAnswer(
      UpstreamResponse response, Lease lease, TokenUsage reservation) {
    return response.successful()
        ? answers.relay(response, lease, reservation)
        : passThrough(response, lease);
  }

  private Mono<ClientAnswer> relayStream(
      UpstreamResponse response,
      PreparedRequest prepared,
      Lease lease,
      TokenUsage reservation,
      Runnable firstChunk) {
    if (!response.successful()) {
      return passThrough(response, lease);
    }
    if (!MediaType.TEXT_EVENT_STREAM.isCompatibleWith(response.contentType())) {
      // A server that ignores "stream" (not vLLM; the benchmark's fake is one) sends one whole
      // answer: the client gets it as it is, charged as a whole answer.
      lease.chargeIfAbandoned(lease::wholeReservation);
      return withinAnswerTimeout(answers.relay(response, lease, reservation), lease, reservation);
    }
    StreamRelay relay =
        new StreamRelay(
            json, model.publicName(), prepared, lease.completionTokensPerChoice(), reservation);
    lease.chargeIfAbandoned(relay::producedIfCut);
    Flux<byte[]> events = relay.relay(response.body(), lease).doOnNext(event -> firstChunk.run());
    return Mono.just(ClientAnswer.events(events, response.onAbandon()));
  }

  /** vLLM refused the request (4xx): its answer goes to the client as it is; nothing is charged. */
  private static Mono<ClientAnswer> passThrough(UpstreamResponse response, Lease lease) {
    return response
        .bodyBytes(UpstreamResponse.ERROR_BODY_LIMIT)
        .map(
            bytes -> {
              lease.release();
              return ClientAnswer.whole(
                  HttpStatusCode.valueOf(response.status()), response.contentType(), bytes);
            });
  }

  /** The answer took longer than the deadline: vLLM may have done the work, so it is charged. */
  private UpstreamUnavailableException deadlinePassed(Lease lease, TokenUsage reservation) {
    lease.fail(reservation);
    return new UpstreamUnavailableException(
        "vLLM's answer did not complete within " + answerTimeout.toMillis() + " ms");
  }
}
