package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.identity.UserIdResolver;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.metrics.ProxyMetrics;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import io.simpletokenlimiter.upstream.UpstreamClient;
import io.simpletokenlimiter.upstream.UpstreamResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ReactiveHttpOutputMessage;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.BodyInserter;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code chat/completions} and {@code completions}: identify the user, validate, count the prompt,
 * reserve with the limiter, forward to vLLM, relay the answer and settle the reservation to what
 * vLLM really served.
 */
@Component
public class CompletionsHandler {

  private static final Logger log = LoggerFactory.getLogger(CompletionsHandler.class);

  private static final int LEGACY_DEFAULT_MAX_TOKENS = 16;

  private static final byte[] STREAM_ERROR_EVENT =
      ("data: {\"error\":{\"message\":\"Model service is temporarily unavailable\","
              + "\"type\":\"model_service_error\",\"code\":503}}\n\n")
          .getBytes(StandardCharsets.UTF_8);

  private final UserIdResolver users;
  private final PromptTokenCounter counter;
  private final TokenLimiter limiter;
  private final UpstreamClient upstream;
  private final ProxyMetrics metrics;
  private final JsonMapper json;
  private final CompletionRequestParser parser;
  private final TokenLimitProperties.Model model;
  private final JsonBodyReader bodies;
  private final ModelNames models;
  private final PromptCountingLanes counting;

  public CompletionsHandler(
      UserIdResolver users,
      PromptTokenCounter counter,
      TokenLimiter limiter,
      UpstreamClient upstream,
      ProxyMetrics metrics,
      JsonMapper json,
      JsonBodyReader bodies,
      ModelNames models,
      PromptCountingLanes counting,
      TokenLimitProperties properties) {
    this.users = users;
    this.counter = counter;
    this.limiter = limiter;
    this.upstream = upstream;
    this.metrics = metrics;
    this.json = json;
    this.parser = new CompletionRequestParser(json);
    this.model = properties.model();
    this.bodies = bodies;
    this.models = models;
    this.counting = counting;
  }

  public Mono<ServerResponse> chat(ServerRequest request) {
    return handle(request, Endpoint.CHAT);
  }

  public Mono<ServerResponse> completions(ServerRequest request) {
    return handle(request, Endpoint.COMPLETIONS);
  }

  private Mono<ServerResponse> handle(ServerRequest request, Endpoint endpoint) {
    return Mono.defer(
        () -> {
          String userId = users.resolve(request.exchange().getRequest());
          return bodies
              .read(request)
              .flatMap(bytes -> prepare(endpoint, bytes))
              .flatMap(
                  prepared ->
                      limiter
                          .admit(userId, prepared.reservation())
                          .transform(metrics::timeDecision)
                          .flatMap(admission -> decide(request, prepared, admission)));
        });
  }

  private Mono<PreparedRequest> prepare(Endpoint endpoint, byte[] bytes) {
    return counting.run(bytes.length, () -> prepareNow(endpoint, bytes));
  }

  private PreparedRequest prepareNow(Endpoint endpoint, byte[] bytes) {
    CompletionRequest request = parser.parse(endpoint, bytes);
    request.model().ifPresent(models::requireKnown);
    PromptCount count = count(request);
    if (count.largestPromptTokens() >= model.maxModelLen()) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST,
          "request_too_large",
          "This model's maximum context length is %d tokens, but the prompt has at least %d tokens"
              .formatted(model.maxModelLen(), count.largestPromptTokens()));
    }
    return new PreparedRequest(request, count, reservation(request, count));
  }

  private PromptCount count(CompletionRequest request) {
    try {
      return switch (request.endpoint()) {
        // A prompt past the context is refused whatever its exact count: stop counting there.
        case CHAT -> counter.countChat(request.body(), model.maxModelLen() - 1);
        case COMPLETIONS -> counter.countCompletion(request.body(), model.maxModelLen() - 1);
      };
    } catch (IllegalArgumentException e) {
      throw ApiException.invalidRequest("The prompt cannot be read: " + e.getMessage());
    }
  }

  private ReservationRequest reservation(CompletionRequest request, PromptCount count) {
    int choices;
    try {
      choices = Math.multiplyExact(request.choices(), count.prompts());
    } catch (ArithmeticException e) {
      throw ApiException.invalidRequest("'n' times the number of prompts is too large");
    }
    if (request.maxTokens().isPresent()) {
      return ReservationRequest.fixed(count.totalTokens(), choices, request.maxTokens().getAsInt());
    }
    if (request.endpoint() == Endpoint.COMPLETIONS) {
      // The legacy endpoint's own default (OpenAI's and vLLM's) is 16, not "the rest".
      return ReservationRequest.fixed(count.totalTokens(), choices, LEGACY_DEFAULT_MAX_TOKENS);
    }
    long contextLeft = model.maxModelLen() - count.largestPromptTokens();
    return new ReservationRequest(
        count.totalTokens(),
        choices,
        Math.min(model.minCompletionTokens(), contextLeft),
        contextLeft);
  }

  private Mono<ServerResponse> decide(
      ServerRequest request, PreparedRequest prepared, Admission admission) {
    if (admission instanceof Admission.Admitted admitted) {
      return forward(request, prepared, admitted);
    }
    if (admission instanceof Admission.Rejected rejected) {
      metrics.rejected(rejected.limitType());
      return Mono.error(
          new ApiException(
              HttpStatus.TOO_MANY_REQUESTS,
              "rate_limit_exceeded",
              "Token usage limit exceeded",
              Map.of(
                  "retry_after", RateLimitHeaders.retryAfterSeconds(rejected),
                  "limit_type", rejected.limitType().label()),
              RateLimitHeaders.of(rejected)));
    }
    Admission.TooLarge tooLarge = (Admission.TooLarge) admission;
    return Mono.error(
        new ApiException(
            HttpStatus.BAD_REQUEST,
            "request_too_large",
            "This request needs %d tokens but the %s limit is %d"
                .formatted(tooLarge.requested(), tooLarge.limitType().label(), tooLarge.limit())));
  }

  /**
   * From here on the reservation is settled exactly once on every path this handler sees (answer,
   * upstream failure, client cancel); a lost settle still ends when the lease expires.
   */
  private Mono<ServerResponse> forward(
      ServerRequest request, PreparedRequest prepared, Admission.Admitted admitted) {
    LeaseSettlement lease = new LeaseSettlement(limiter, metrics, admitted);
    // On the exchange rather than the ServerResponse so that error answers carry them too.
    request.exchange().getResponse().getHeaders().addAll(RateLimitHeaders.of(admitted.quota()));
    Usage promptOnly = new Usage(prepared.count().totalTokens(), 0);
    Usage reservation =
        new Usage(
            prepared.count().totalTokens(),
            admitted.reservedTokens() - prepared.count().totalTokens());
    boolean stream = prepared.request().stream();
    return Mono.defer(
            () -> {
              byte[] body = upstreamBody(prepared.request(), admitted);
              String path = prepared.request().endpoint().upstreamPath();
              return stream
                  ? stream(path, body, prepared, lease, promptOnly, reservation)
                  : complete(path, body, lease, reservation);
            })
        .onErrorResume(error -> lease.settle(Usage.NONE).then(Mono.error(error)))
        // Gone before vLLM's status line: a stream has produced nothing yet, but a whole answer
        // is being generated and vLLM will not say how much of it it made before stopping.
        .doOnCancel(() -> lease.settleInBackground(stream ? promptOnly : reservation));
  }

  private byte[] upstreamBody(CompletionRequest request, Admission.Admitted admitted) {
    ObjectNode body = request.body();
    body.put("model", model.upstreamName());
    // The budget vLLM obeys is exactly the one reserved, whichever field the client used.
    long granted = admitted.completionTokensPerChoice();
    body.put("max_tokens", granted);
    if (request.endpoint() == Endpoint.CHAT && body.has("max_completion_tokens")) {
      body.put("max_completion_tokens", granted);
    } else {
      body.remove("max_completion_tokens");
    }
    if (request.stream()) {
      ObjectNode options =
          body.get("stream_options") instanceof ObjectNode given
              ? given
              : body.putObject("stream_options");
      options.put("include_usage", true);
      options.put("continuous_usage_stats", true);
    }
    return json.writeValueAsBytes(body);
  }

  private Mono<ServerResponse> complete(
      String path, byte[] body, LeaseSettlement lease, Usage reservation) {
    return upstream
        .post(path, body, MediaType.APPLICATION_JSON)
        .flatMap(
            response ->
                response
                    .bodyBytes()
                    .flatMap(
                        bytes -> {
                          if (!response.successful()) {
                            return lease.settle(Usage.NONE).then(passThrough(response, bytes));
                          }
                          AnswerRewrite answer = rewriteAnswer(bytes, reservation);
                          return lease
                              .settle(answer.usage())
                              .then(
                                  ServerResponse.ok()
                                      .contentType(MediaType.APPLICATION_JSON)
                                      .bodyValue(answer.bytes()));
                        }));
  }

  /** The answer with the public model name, and its usage (the whole reservation if absent). */
  private AnswerRewrite rewriteAnswer(byte[] bytes, Usage reservedUsage) {
    JsonNode answer;
    try {
      answer = json.readTree(bytes);
    } catch (JacksonException e) {
      log.warn("vLLM answered 2xx with a body that is not JSON; charging the reservation");
      return new AnswerRewrite(bytes, reservedUsage);
    }
    if (!(answer instanceof ObjectNode object)) {
      return new AnswerRewrite(bytes, reservedUsage);
    }
    if (object.has("model")) {
      object.put("model", model.publicName());
    }
    Usage usage = Usage.from(object.path("usage")).orElse(reservedUsage);
    return new AnswerRewrite(json.writeValueAsBytes(object), usage);
  }

  private Mono<ServerResponse> stream(
      String path,
      byte[] body,
      PreparedRequest prepared,
      LeaseSettlement lease,
      Usage promptOnly,
      Usage reservation) {
    PromptCount prompt = prepared.count();
    return upstream
        .post(path, body, MediaType.TEXT_EVENT_STREAM)
        .flatMap(
            response -> {
              if (!response.successful()) {
                return response
                    .bodyBytes()
                    .flatMap(bytes -> lease.settle(Usage.NONE).then(passThrough(response, bytes)));
              }
              StreamRelay relay = new StreamRelay(json, model.publicName(), prepared.request());
              Flux<byte[]> events =
                  relay
                      .relay(response.body())
                      .concatWith(
                          Mono.defer(
                                  () ->
                                      lease.settle(
                                          relay.produced(prompt, reservation, reservation)))
                              .thenMany(Flux.empty()))
                      .onErrorResume(
                          error -> {
                            log.warn("Stream from vLLM broke off: {}", error.getMessage());
                            return lease
                                .settle(relay.produced(prompt, Usage.NONE, reservation))
                                .thenMany(Flux.just(STREAM_ERROR_EVENT));
                          })
                      .doOnCancel(
                          () ->
                              lease.settleInBackground(
                                  relay.produced(prompt, promptOnly, reservation)));
              BodyInserter<Flux<byte[]>, ReactiveHttpOutputMessage> flushEachEvent =
                  (message, context) ->
                      message.writeAndFlushWith(
                          events.map(bytes -> Mono.just(message.bufferFactory().wrap(bytes))));
              return ServerResponse.ok()
                  .contentType(MediaType.TEXT_EVENT_STREAM)
                  .header(HttpHeaders.CACHE_CONTROL, "no-cache")
                  .body(flushEachEvent);
            });
  }

  private static Mono<ServerResponse> passThrough(UpstreamResponse response, byte[] bytes) {
    return ServerResponse.status(response.status())
        .contentType(response.contentType())
        .bodyValue(bytes);
  }

  private record PreparedRequest(
      CompletionRequest request, PromptCount count, ReservationRequest reservation) {}

  private record AnswerRewrite(byte[] bytes, Usage usage) {}
}
