package io.simpletokenlimiter.api;

import io.simpletokenlimiter.metrics.RequestTimer;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;

/**
 * Opens what lives as long as one exchange — the scope of its leases and, for a generation request,
 * the record of what it did — and ends them when the exchange ends, however it ends: the scope
 * first (an unsettled lease is abandoned), then the usage event, then the request's timing ({@link
 * RequestTimer}). An exchange that fails is written by {@link ApiErrorHandler} once the error
 * answer is out, and timed when that answer begins.
 */
@Component
class ExchangeLifecycle implements WebFilter, Ordered {

  private final UsageEvents usageEvents;
  private final RequestTimer timer;

  ExchangeLifecycle(UsageEvents usageEvents, RequestTimer timer) {
    this.usageEvents = usageEvents;
    this.timer = timer;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    long startNanos = System.nanoTime();
    ExchangeScope scope = ExchangeScope.open(exchange);
    RequestOutcome.openFor(exchange);
    return chain
        .filter(exchange)
        .doFinally(
            signal -> {
              scope.close();
              if (signal != SignalType.ON_ERROR) {
                usageEvents.write(exchange, signal == SignalType.CANCEL);
              }
              timer.ended(exchange, startNanos, signal == SignalType.CANCEL);
            });
  }

  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE;
  }
}
