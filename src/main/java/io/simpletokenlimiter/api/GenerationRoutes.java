package io.simpletokenlimiter.api;

import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.springframework.core.Ordered;
import org.springframework.http.HttpMethod;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;
import reactor.core.publisher.Mono;

/**
 * Serves the generation requests — {@code POST} to {@code chat/completions} and {@code
 * completions}, under {@code /api/v1} and {@code /v1} — from the end of the filter chain, on the
 * exchange itself: they skip Spring's dispatcher (asking each handler mapping, adapting the handler
 * and its result) and its codecs (finding a reader for the body and a writer for the answer), which
 * took about a tenth of a request's CPU. The route is recorded as the dispatcher would, for {@code
 * http_server_requests_seconds}. Every other request, including other methods on these paths (405),
 * goes on to {@link ApiRoutes}.
 */
@Component
class GenerationRoutes implements WebFilter, Ordered {

  private final List<Route> routes;

  GenerationRoutes(CompletionsHandler completions) {
    this.routes =
        ApiRoutes.PREFIXES.stream()
            .flatMap(
                prefix ->
                    Stream.of(
                        new Route(prefix + "/chat/completions", completions::chat),
                        new Route(prefix + "/completions", completions::completions)))
            .toList();
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    if (!HttpMethod.POST.equals(exchange.getRequest().getMethod())) {
      return chain.filter(exchange);
    }
    Route route = routeOf(exchange);
    if (route == null) {
      return chain.filter(exchange);
    }
    exchange.getAttributes().put(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE, route.pattern());
    ServerRequestObservationContext.findCurrent(exchange.getAttributes())
        .ifPresent(observed -> observed.setPathPattern(route.pattern().getPatternString()));
    return route.handler().apply(exchange);
  }

  private Route routeOf(ServerWebExchange exchange) {
    var path = exchange.getRequest().getPath().pathWithinApplication();
    for (Route route : routes) {
      if (route.pattern().matches(path)) {
        return route;
      }
    }
    return null;
  }

  /** Last of the filters: whatever they decide about a request still applies to these. */
  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }

  private record Route(PathPattern pattern, Function<ServerWebExchange, Mono<Void>> handler) {
    Route(String path, Function<ServerWebExchange, Mono<Void>> handler) {
      this(PathPatternParser.defaultInstance.parse(path), handler);
    }
  }
}
