package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/** {@code GET /v1/models}: the one model, under its public name, in vLLM's list shape. */
@Component
public class ModelsHandler {

  private final Map<String, Object> body;

  public ModelsHandler(TokenLimitProperties.Model model) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("id", model.publicName());
    entry.put("object", "model");
    entry.put("created", Instant.now().getEpochSecond());
    entry.put("owned_by", model.ownedBy());
    entry.put("root", model.upstreamName());
    entry.put("max_model_len", model.maxModelLen());
    this.body = Map.of("object", "list", "data", List.of(entry));
  }

  public Mono<ServerResponse> list(ServerRequest request) {
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
  }
}
