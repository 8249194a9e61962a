package io.simpletokenlimiter.api;

import static org.springframework.web.reactive.function.server.RequestPredicates.path;

import java.util.List;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.MethodNotAllowedException;
import reactor.core.publisher.Mono;

/**
 * Every path of the API. The generation endpoints answer under {@code /api/v1} and under vLLM's own
 * {@code /v1}, so an OpenAI SDK works with either base URL; their {@code POST}s are served ahead of
 * these routes by {@link GenerationRoutes}, and only the other methods reach them here.
 */
@Configuration(proxyBeanMethods = false)
public class ApiRoutes {

  static final List<String> PREFIXES = List.of("/api/v1", "/v1");

  @Bean
  RouterFunction<ServerResponse> apiRouter(
      ModelsHandler models,
      HealthHandler health,
      UsageHandler usage,
      AdminHandler admin,
      TokenizeHandler tokenize) {
    RouterFunctions.Builder routes = RouterFunctions.route();
    for (String prefix : PREFIXES) {
      routes.GET(prefix + "/models", models::list);
      routes.route(
          path(prefix + "/chat/completions"),
          request -> notAllowed(request.method(), HttpMethod.POST));
      routes.route(
          path(prefix + "/completions"), request -> notAllowed(request.method(), HttpMethod.POST));
      routes.route(
          path(prefix + "/models"), request -> notAllowed(request.method(), HttpMethod.GET));
    }
    routes.GET("/api/v1/health", health::health);
    routes.GET("/api/v1/usage/{userId}", usage::usage);
    routes.GET("/api/v1/admin/usage", admin::topUsage);
    routes.DELETE("/api/v1/admin/usage/{userId}", admin::forgetUsage);
    routes.GET("/api/v1/admin/limits/{userId}", admin::limits);
    routes.PUT("/api/v1/admin/limits/{userId}", admin::putLimits);
    routes.DELETE("/api/v1/admin/limits/{userId}", admin::removeLimits);
    routes.POST("/tokenize", tokenize::tokenize);
    routes.POST("/detokenize", tokenize::detokenize);
    routes.route(path("/api/v1/health"), request -> notAllowed(request.method(), HttpMethod.GET));
    routes.route(
        path("/api/v1/admin/usage"), request -> notAllowed(request.method(), HttpMethod.GET));
    routes.route(
        path("/api/v1/admin/usage/{userId}"),
        request -> notAllowed(request.method(), HttpMethod.DELETE));
    routes.route(
        path("/api/v1/admin/limits/{userId}"),
        request ->
            Mono.error(
                new MethodNotAllowedException(
                    request.method(), List.of(HttpMethod.GET, HttpMethod.PUT, HttpMethod.DELETE))));
    return routes.build();
  }

  private static Mono<ServerResponse> notAllowed(HttpMethod method, HttpMethod allowed) {
    return Mono.error(new MethodNotAllowedException(method, List.of(allowed)));
  }
}
