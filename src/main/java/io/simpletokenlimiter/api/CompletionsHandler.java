package io.simpletokenlimiter.api;

import io.simpletokenlimiter.identity.UserIdResolver;
import io.simpletokenlimiter.limit.UsageWarnings;
import io.simpletokenlimiter.limit.wait.WaitingAdmissions;
import io.simpletokenlimiter.metrics.ProxyMetrics;
import io.simpletokenlimiter.proxy.CompletionForwarder;
import io.simpletokenlimiter.proxy.CompletionPreparer;
import io.simpletokenlimiter.proxy.PreparedRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code chat/completions} and {@code completions}: who is calling, read the body, prepare it
 * (validate, count, decide the reservation), admit it with the limiter (waiting for room as long as
 * {@code X-Max-Wait} allows), and hand it to the forwarder. Rejections travel as exceptions to
 * {@link ApiErrorHandler}.
 */
@Component
public class CompletionsHandler {

  private final UserIdResolver users;
  private final JsonBodyReader bodies;
  private final CompletionPreparer preparer;
  private final MaxWaitHeader maxWait;
  private final WaitingAdmissions admissions;
  private final ProxyMetrics metrics;
  private final CompletionForwarder forwarder;
  private final UsageWarnings warnings;
  private final Clock clock;

  public CompletionsHandler(
      UserIdResolver users,
      JsonBodyReader bodies,
      CompletionPreparer preparer,
      MaxWaitHeader maxWait,
      WaitingAdmissions admissions,
      ProxyMetrics metrics,
      CompletionForwarder forwarder,
      UsageWarnings warnings,
      Clock clock) {
    this.warnings = warnings;
    this.clock = clock;
    this.users = users;
    this.bodies = bodies;
    this.preparer = preparer;
    this.maxWait = maxWait;
    this.admissions = admissions;
    this.metrics = metrics;
    this.forwarder = forwarder;
  }

  public Mono<Void> chat(ServerWebExchange exchange) {
    return handle(exchange, preparer::chat);
  }

  public Mono<Void> completions(ServerWebExchange exchange) {
    return handle(exchange, preparer::completions);
  }

  private Mono<Void> handle(
      ServerWebExchange exchange, Function<byte[], Mono<PreparedRequest>> prepare) {
    RequestOutcome outcome = RequestOutcome.orDetached(exchange);
    return Mono.defer(
        () -> {
          String userId = users.resolve(exchange.getRequest());
          outcome.user(userId);
          Duration wait = maxWait.of(exchange.getRequest().getHeaders());
          return bodies
              .read(exchange.getRequest())
              .flatMap(prepare)
              .doOnNext(prepared -> outcome.stream(prepared.stream()))
              .flatMap(prepared -> admitAndForward(exchange, outcome, userId, prepared, wait));
        });
  }

  private Mono<Void> admitAndForward(
      ServerWebExchange exchange,
      RequestOutcome outcome,
      String userId,
      PreparedRequest prepared,
      Duration wait) {
    return admissions
        .admit(userId, prepared.reservation(), ExchangeScope.of(exchange), wait)
        .transform(metrics::timeAdmission)
        .flatMap(
            lease -> {
              outcome.lease(lease);
              // On the exchange, so that error answers carry them too.
              RateLimitHeaders.writeTo(exchange.getResponse().getHeaders(), lease.quota());
              warnings
                  .check(userId, lease.quota(), clock.millis())
                  .ifPresent(
                      warning -> {
                        exchange
                            .getResponse()
                            .getHeaders()
                            .set(RateLimitHeaders.WARNING, RateLimitHeaders.warning(warning));
                        metrics.warned(warning);
                      });
              return forwarder.forward(
                  prepared, lease, outcome::firstChunk, exchange.getResponse());
            });
  }
}
