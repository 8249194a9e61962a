package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.tokens.DetokenizeOutcome;
import io.simpletokenlimiter.tokens.PromptTokenizer;
import io.simpletokenlimiter.tokens.TokenizeOutcome;
import io.simpletokenlimiter.upstream.UpstreamClient;
import io.simpletokenlimiter.upstream.UpstreamResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * vLLM's {@code POST /tokenize} and {@code POST /detokenize}, answered by the limiter's own
 * tokenizer so that clients see the count it reserves with; forwarded to vLLM when the limiter
 * cannot answer exactly (no vocabulary loaded, or tools in the chat). Not charged.
 */
@Component
public class TokenizeHandler {

  private final PromptTokenizer tokenizer;
  private final UpstreamClient upstream;
  private final JsonMapper json;
  private final TokenLimitProperties.Model model;
  private final JsonBodyReader bodies;
  private final ModelNames models;
  private final Scheduler counting;

  public TokenizeHandler(
      PromptTokenizer tokenizer,
      UpstreamClient upstream,
      JsonMapper json,
      JsonBodyReader bodies,
      ModelNames models,
      @Qualifier(PromptCountingConfiguration.SCHEDULER) Scheduler counting,
      TokenLimitProperties properties) {
    this.tokenizer = tokenizer;
    this.upstream = upstream;
    this.json = json;
    this.bodies = bodies;
    this.models = models;
    this.counting = counting;
    this.model = properties.model();
  }

  public Mono<ServerResponse> tokenize(ServerRequest request) {
    return body(request)
        .flatMap(
            body ->
                Mono.fromCallable(() -> tokenizer.tokenize(body))
                    .subscribeOn(counting)
                    .flatMap(outcome -> answer(outcome, body)));
  }

  public Mono<ServerResponse> detokenize(ServerRequest request) {
    return body(request).flatMap(body -> answer(tokenizer.detokenize(body), body));
  }

  private Mono<ServerResponse> answer(TokenizeOutcome outcome, ObjectNode body) {
    if (outcome instanceof TokenizeOutcome.Tokenized tokenized) {
      return json(tokenized(tokenized));
    }
    if (outcome instanceof TokenizeOutcome.Invalid invalid) {
      return Mono.error(ApiException.invalidRequest(invalid.message()));
    }
    return forward("/tokenize", body);
  }

  private Mono<ServerResponse> answer(DetokenizeOutcome outcome, ObjectNode body) {
    if (outcome instanceof DetokenizeOutcome.Detokenized text) {
      return json(Map.of("prompt", text.prompt()));
    }
    if (outcome instanceof DetokenizeOutcome.Invalid invalid) {
      return Mono.error(ApiException.invalidRequest(invalid.message()));
    }
    return forward("/detokenize", body);
  }

  private Mono<ObjectNode> body(ServerRequest request) {
    return bodies
        .read(request)
        .map(
            bytes -> {
              JsonNode node;
              try {
                node = json.readTree(bytes);
              } catch (JacksonException e) {
                throw ApiException.invalidRequest("The body is not valid JSON");
              }
              if (!(node instanceof ObjectNode object)) {
                throw ApiException.invalidRequest("The body must be a JSON object");
              }
              JsonNode name = object.path("model");
              if (!name.isMissingNode() && !name.isNull()) {
                models.requireKnown(name.asString(""));
              }
              return object;
            });
  }

  private Map<String, Object> tokenized(TokenizeOutcome.Tokenized tokenized) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("count", tokenized.tokens().size());
    body.put("max_model_len", model.maxModelLen());
    body.put("tokens", tokenized.tokens());
    if (!tokenized.tokenStrings().isEmpty()) {
      body.put("token_strs", tokenized.tokenStrings());
    }
    return body;
  }

  private Mono<ServerResponse> forward(String path, ObjectNode body) {
    if (body.has("model")) {
      body.put("model", model.upstreamName());
    }
    return upstream
        .post(path, json.writeValueAsBytes(body), MediaType.APPLICATION_JSON)
        .flatMap(
            answer ->
                answer
                    .bodyBytes(UpstreamResponse.ERROR_BODY_LIMIT * 16)
                    .flatMap(
                        bytes ->
                            ServerResponse.status(answer.status())
                                .contentType(answer.contentType())
                                .bodyValue(bytes)));
  }

  private static Mono<ServerResponse> json(Object body) {
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
  }
}
