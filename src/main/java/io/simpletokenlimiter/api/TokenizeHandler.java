package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.tokens.DetokenizeOutcome;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import io.simpletokenlimiter.tokens.PromptTokenizer;
import io.simpletokenlimiter.tokens.TokenizeOutcome;
import io.simpletokenlimiter.upstream.UpstreamClient;
import io.simpletokenlimiter.upstream.UpstreamResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * vLLM's {@code POST /tokenize} and {@code POST /detokenize}, answered by the limiter's own
 * tokenizer so that clients see the count it reserves with; forwarded to vLLM when the limiter
 * cannot answer exactly (no vocabulary loaded, or tools in the chat). Not charged, and no identity
 * needed (as in vLLM), but bounded: bodies are counted in {@link PromptCountingLanes} (per caller:
 * the user when identified, else the remote address), a prompt longer than the model's context is
 * refused with 400 {@code request_too_large} as soon as that is known, and {@code /detokenize}
 * takes at most {@code max_model_len} ids.
 */
@Component
public class TokenizeHandler {

  private final PromptTokenizer tokenizer;
  private final UpstreamClient upstream;
  private final JsonMapper json;
  private final TokenLimitProperties.Model model;
  private final JsonBodyReader bodies;
  private final ModelNames models;
  private final PromptCountingLanes counting;
  private final PromptTokenCounter counter;

  public TokenizeHandler(
      PromptTokenizer tokenizer,
      UpstreamClient upstream,
      JsonMapper json,
      JsonBodyReader bodies,
      ModelNames models,
      PromptCountingLanes counting,
      PromptTokenCounter counter,
      TokenLimitProperties properties) {
    this.tokenizer = tokenizer;
    this.upstream = upstream;
    this.json = json;
    this.bodies = bodies;
    this.models = models;
    this.counting = counting;
    this.counter = counter;
    this.model = properties.model();
  }

  public Mono<ServerResponse> tokenize(ServerRequest request) {
    return bodies
        .read(request.exchange().getRequest())
        .flatMap(
            bytes ->
                counting
                    .run(bytes.length, () -> tokenizeNow(bytes))
                    .flatMap(answer -> answer(answer.outcome(), answer.body())));
  }

  public Mono<ServerResponse> detokenize(ServerRequest request) {
    return bodies
        .read(request.exchange().getRequest())
        .flatMap(
            bytes ->
                counting
                    .run(bytes.length, () -> detokenizeNow(bytes))
                    .flatMap(answer -> answer(answer.outcome(), answer.body())));
  }

  private Tokenized tokenizeNow(byte[] bytes) {
    ObjectNode body = parse(bytes);
    if (tokenizer.available()) {
      long cap = model.maxModelLen();
      PromptCount count =
          body.has("messages") ? counter.countChat(body, cap) : counter.countCompletion(body, cap);
      if (count.largestPromptTokens() > cap) {
        throw new ApiException(
            HttpStatus.BAD_REQUEST,
            "request_too_large",
            "This model's maximum context length is %d tokens, but the prompt has more"
                .formatted(model.maxModelLen()));
      }
    }
    return new Tokenized(body, tokenizer.tokenize(body));
  }

  private Detokenized detokenizeNow(byte[] bytes) {
    ObjectNode body = parse(bytes);
    if (body.path("tokens").size() > model.maxModelLen()) {
      throw ApiException.invalidRequest(
          "tokens may hold at most max_model_len (%d) ids".formatted(model.maxModelLen()));
    }
    return new Detokenized(body, tokenizer.detokenize(body));
  }

  private record Tokenized(ObjectNode body, TokenizeOutcome outcome) {}

  private record Detokenized(ObjectNode body, DetokenizeOutcome outcome) {}

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

  private ObjectNode parse(byte[] bytes) {
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
