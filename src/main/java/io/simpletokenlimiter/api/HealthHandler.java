package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.upstream.ModelServerHealth;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/** {@code GET /api/v1/health}: whether the model server answers, from the cached probe. */
@Component
public class HealthHandler {

  private final ModelServerHealth health;
  private final String model;
  private final Clock clock = Clock.systemUTC();

  public HealthHandler(ModelServerHealth health, TokenLimitProperties.Model model) {
    this.health = health;
    this.model = model.publicName();
  }

  public Mono<ServerResponse> health(ServerRequest request) {
    return health
        .healthy()
        .flatMap(
            healthy -> {
              Map<String, Object> body = new LinkedHashMap<>();
              body.put("status", healthy ? "healthy" : "unhealthy");
              body.put("model", model);
              body.put("timestamp", clock.millis());
              return ServerResponse.status(healthy ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
                  .contentType(MediaType.APPLICATION_JSON)
                  .bodyValue(body);
            });
  }
}
