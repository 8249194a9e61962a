package io.simpletokenlimiter.upstream;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.micrometer.core.instrument.Timer;
import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.metrics.ProxyMetrics;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.internal.shaded.reactor.pool.PoolAcquirePendingLimitException;
import reactor.netty.internal.shaded.reactor.pool.PoolAcquireTimeoutException;

/**
 * Sends a request body to vLLM. The circuit breaker and the first-byte timeout cover the wait for
 * the status line; the idle timeout covers each gap between body chunks. A 4xx is an answer (the
 * client's mistake, passed through), not a failure of the model server.
 */
@Component
public class UpstreamClient {

  private final WebClient webClient;
  private final CircuitBreaker breaker;
  private final ProxyMetrics metrics;
  private final Duration firstByteTimeout;
  private final Duration idleTimeout;

  public UpstreamClient(
      @Qualifier(UpstreamConfiguration.WEB_CLIENT) WebClient webClient,
      @Qualifier(UpstreamConfiguration.CIRCUIT_BREAKER) CircuitBreaker breaker,
      ProxyMetrics metrics,
      TokenLimitProperties.Upstream settings) {
    this.webClient = webClient;
    this.breaker = breaker;
    this.metrics = metrics;
    this.firstByteTimeout = settings.firstByteTimeout();
    this.idleTimeout = settings.idleTimeout();
  }

  /**
   * POSTs {@code body} to {@code path} on vLLM. Fails with {@link UpstreamUnavailableException}
   * when no answer comes, and later from the body when vLLM stops sending mid-way.
   */
  public Mono<UpstreamResponse> post(String path, byte[] body, MediaType accept) {
    return post(path, body, accept, () -> {});
  }

  /**
   * As {@link #post(String, byte[], MediaType)}; {@code onSending} runs once a connection to vLLM
   * is ready and the request is about to go out (not while it waits for a pooled connection).
   */
  public Mono<UpstreamResponse> post(
      String path, byte[] body, MediaType accept, Runnable onSending) {
    return Mono.defer(
        () -> {
          Timer.Sample sample = metrics.startUpstreamCall();
          return webClient
              .post()
              .uri(path)
              .contentType(MediaType.APPLICATION_JSON)
              .accept(accept)
              .httpRequest(request -> onSending.run())
              .bodyValue(body)
              .retrieve()
              .onStatus(
                  HttpStatusCode::is5xxServerError,
                  response ->
                      response
                          .releaseBody()
                          .then(
                              Mono.error(
                                  new UpstreamUnavailableException(
                                      "vLLM answered " + response.statusCode().value()))))
              .onStatus(HttpStatusCode::is4xxClientError, response -> Mono.empty())
              .toEntityFlux(DataBuffer.class)
              .timeout(firstByteTimeout)
              .map(this::toResponse)
              .transformDeferred(CircuitBreakerOperator.of(breaker))
              .doOnSuccess(response -> metrics.upstreamCallEnded(sample, "answered"))
              .doOnError(
                  error ->
                      metrics.upstreamCallEnded(
                          sample, isPoolExhausted(error) ? "pool_exhausted" : "failed"))
              .onErrorMap(
                  error -> !(error instanceof UpstreamUnavailableException),
                  UpstreamClient::unavailable);
        });
  }

  private UpstreamResponse toResponse(ResponseEntity<Flux<DataBuffer>> entity) {
    MediaType contentType = entity.getHeaders().getContentType();
    Flux<byte[]> body =
        entity
            .getBody()
            .timeout(idleTimeout)
            .map(UpstreamClient::toBytes)
            .onErrorMap(UpstreamClient::unavailable);
    return new UpstreamResponse(
        entity.getStatusCode().value(),
        contentType == null ? MediaType.APPLICATION_JSON : contentType,
        body);
  }

  private static byte[] toBytes(DataBuffer buffer) {
    try {
      byte[] bytes = new byte[buffer.readableByteCount()];
      buffer.read(bytes);
      return bytes;
    } finally {
      DataBufferUtils.release(buffer);
    }
  }

  /**
   * Whether {@code error} means every pooled connection to vLLM was busy for the whole wait
   * (token.limit.upstream.max-connections): the replica's limit, not vLLM failing. The exceptions
   * are Reactor Netty's shaded pool classes; should they move in an upgrade, this stops compiling
   * rather than silently counting a busy pool against vLLM.
   */
  static boolean isPoolExhausted(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof PoolAcquireTimeoutException
          || cause instanceof PoolAcquirePendingLimitException) {
        return true;
      }
    }
    return false;
  }

  private static UpstreamUnavailableException unavailable(Throwable error) {
    if (error instanceof UpstreamUnavailableException unavailable) {
      return unavailable;
    }
    if (isPoolExhausted(error)) {
      return new UpstreamUnavailableException(
          "no free connection to vLLM (token.limit.upstream.max-connections)", error);
    }
    if (error instanceof CallNotPermittedException) {
      return new UpstreamUnavailableException("circuit breaker open", error);
    }
    if (error instanceof TimeoutException) {
      return new UpstreamUnavailableException("vLLM timed out", error);
    }
    return new UpstreamUnavailableException("vLLM unreachable: " + error.getMessage(), error);
  }
}
