package io.simpletokenlimiter.metrics;

import io.micrometer.common.KeyValue;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.handler.ExceptionHandlingWebHandler;
import reactor.core.publisher.Mono;

/**
 * Spring's {@code http_server_requests_seconds}, with the same name, labels and moments, without an
 * observation per request: Spring's observation built its labels, their tags and the timer's id
 * anew for every request (about 5 % of a request's CPU). Here the labels come from the same
 * convention ({@link ServerRequestTags}) on the same context (which Spring still creates; its
 * handler mappings, or {@code api.GenerationRoutes} for the generation requests, give the matched
 * route), once per route, method, status, error and whether the client left; each later request
 * finds its timer by those.
 *
 * <p>As Spring's: a request is timed until its answer is complete, or until its answer begins when
 * the answer is written after the handler ended (an error's); a client that leaves ends it with
 * status and outcome {@code UNKNOWN}; the exception an error handler took is its {@code exception}
 * and {@code error}.
 */
@Component
public class RequestTimer {

  /** Routes × methods × statuses × errors stay far below it; past it, timers are looked up. */
  private static final int MAX_TIMERS = 2_000;

  private final MeterRegistry registry;
  private final ServerRequestTags tags;
  private final Map<Key, Timer> timers = new ConcurrentHashMap<>();

  public RequestTimer(MeterRegistry registry, ServerRequestTags tags) {
    this.registry = registry;
    this.tags = tags;
  }

  /**
   * Times an exchange whose handling ended (started at {@code startNanos}): now, or when its answer
   * begins if that is written afterwards (an error's). {@code clientLeft}: the client went away.
   */
  public void ended(ServerWebExchange exchange, long startNanos, boolean clientLeft) {
    ServerRequestObservationContext context =
        ServerRequestObservationContext.findCurrent(exchange.getAttributes()).orElse(null);
    if (context == null) {
      return;
    }
    ServerHttpResponse response = exchange.getResponse();
    if (clientLeft || response.isCommitted()) {
      record(context, exchange, startNanos, clientLeft);
    } else {
      response.beforeCommit(
          () -> {
            record(context, exchange, startNanos, false);
            return Mono.empty();
          });
    }
  }

  private void record(
      ServerRequestObservationContext context,
      ServerWebExchange exchange,
      long startNanos,
      boolean clientLeft) {
    long nanos = System.nanoTime() - startNanos;
    Throwable error = clientLeft ? null : error(context, exchange);
    HttpStatusCode status = clientLeft ? null : exchange.getResponse().getStatusCode();
    Key key =
        new Key(
            exchange.getRequest().getMethod().name(),
            context.getPathPattern(),
            status == null ? -1 : status.value(),
            error == null ? null : error.getClass(),
            clientLeft);
    Timer timer = timers.get(key);
    if (timer == null) {
      timer = register(context, error, clientLeft);
      if (timers.size() < MAX_TIMERS) {
        timers.put(key, timer);
      }
    }
    timer.record(nanos, TimeUnit.NANOSECONDS);
  }

  private static Throwable error(
      ServerRequestObservationContext context, ServerWebExchange exchange) {
    return Optional.ofNullable(context.getError())
        .orElseGet(() -> exchange.getAttribute(ExceptionHandlingWebHandler.HANDLED_WEB_EXCEPTION));
  }

  /** The timer Spring's meter handler would have registered for this context. */
  private Timer register(ServerRequestObservationContext context, Throwable error, boolean left) {
    context.setConnectionAborted(left);
    if (error != null) {
      context.setError(error);
    }
    List<Tag> tagList = new ArrayList<>();
    for (KeyValue keyValue : tags.getLowCardinalityKeyValues(context)) {
      tagList.add(Tag.of(keyValue.getKey(), keyValue.getValue()));
    }
    tagList.add(Tag.of("error", error == null ? "none" : error.getClass().getSimpleName()));
    return Timer.builder(tags.getName()).tags(tagList).register(registry);
  }

  private record Key(String method, String route, int status, Class<?> error, boolean clientLeft) {}
}
