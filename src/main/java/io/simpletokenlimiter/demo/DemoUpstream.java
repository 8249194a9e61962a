package io.simpletokenlimiter.demo;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.resources.LoopResources;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A pretend vLLM on 127.0.0.1: {@code /v1/chat/completions} and {@code /v1/completions} (whole or
 * streamed as Server-Sent Events, with vLLM's shapes, {@code stream_options.include_usage} and
 * {@code continuous_usage_stats}), {@code /v1/models} and {@code /health}.
 *
 * <p>Usage is what the limiter would see from vLLM serving Llama 3.2: {@code prompt_tokens} is the
 * service's own {@link PromptTokenCounter} count (exact with a Llama 3 vocabulary; the UTF-8 upper
 * bound without one, so that the demo reports what the limiter reserved for the prompt), and {@code
 * completion_tokens} is the number of {@link CannedAnswers} tokens sent, which is exact for Llama 3
 * either way. {@code max_tokens} (or {@code max_completion_tokens}) cuts an answer short with
 * {@code finish_reason: length}.
 */
public final class DemoUpstream implements AutoCloseable {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** vLLM's legacy completions default. */
  private static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

  private final PromptTokenCounter counter;
  private final CannedAnswers answers;
  private final String model;
  private final int maxModelLen;
  private final DemoUpstreamProperties properties;
  private final Clock clock;
  private final LoopResources loops;
  private final DisposableServer server;

  DemoUpstream(
      PromptTokenCounter counter,
      CannedAnswers answers,
      String model,
      int maxModelLen,
      DemoUpstreamProperties properties,
      Clock clock) {
    if (properties.port() < 1) {
      throw new IllegalStateException(
          "token.limit.demo.port is not set: the demo upstream starts only with the profile 'demo'"
              + " (SPRING_PROFILES_ACTIVE=demo)");
    }
    this.counter = counter;
    this.answers = answers;
    this.model = model;
    this.maxModelLen = maxModelLen;
    this.properties = properties;
    this.clock = clock;
    this.loops = LoopResources.create("demo-upstream", 1, true);
    this.server =
        HttpServer.create()
            .host("127.0.0.1")
            .port(properties.port())
            .runOn(loops)
            .route(
                routes ->
                    routes
                        .post("/v1/chat/completions", (req, res) -> generate(req, res, true))
                        .post("/v1/completions", (req, res) -> generate(req, res, false))
                        .get("/v1/models", this::models)
                        .get("/health", (req, res) -> res.status(200).send())
                        .post("/tokenize", this::noTokenizer)
                        .post("/detokenize", this::noTokenizer))
            .bindNow(Duration.ofSeconds(10));
  }

  /** Where it listens: {@code http://127.0.0.1:<port>}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.port();
  }

  @Override
  public void close() {
    server.disposeNow(Duration.ofSeconds(5));
    loops.disposeLater().block(Duration.ofSeconds(5));
  }

  private Publisher<Void> models(HttpServerRequest request, HttpServerResponse response) {
    ObjectNode entry = JSON.createObjectNode();
    entry.put("id", model);
    entry.put("object", "model");
    entry.put("created", clock.instant().getEpochSecond());
    entry.put("owned_by", "vllm");
    entry.put("root", model);
    entry.putNull("parent");
    entry.put("max_model_len", maxModelLen);
    ObjectNode list = JSON.createObjectNode();
    list.put("object", "list");
    list.putArray("data").add(entry);
    return sendJson(response, 200, list);
  }

  /**
   * The limiter answers {@code /tokenize} itself when it has a vocabulary and forwards it here only
   * without one: say what is missing rather than answer a bare 404.
   */
  private Publisher<Void> noTokenizer(HttpServerRequest request, HttpServerResponse response) {
    ObjectNode error =
        error(
            "the demo upstream has no tokenizer: set TOKENIZER_PATH to a Llama 3"
                + " tokenizer.json, and the limiter tokenizes by itself");
    error.put("type", "NotFoundError");
    error.put("code", 404);
    return request.receive().then(Mono.from(sendJson(response, 404, error)));
  }

  private Publisher<Void> generate(
      HttpServerRequest request, HttpServerResponse response, boolean chat) {
    return request
        .receive()
        .aggregate()
        .asString(StandardCharsets.UTF_8)
        .defaultIfEmpty("")
        .publishOn(Schedulers.boundedElastic())
        .map(text -> parse(text, chat))
        .flatMap(
            parsed ->
                parsed instanceof Reply.Invalid invalid
                    ? Mono.from(sendJson(response, 400, error(invalid.message())))
                    : Mono.from(answer(response, (Reply.Generation) parsed)));
  }

  private sealed interface Reply {
    record Invalid(String message) implements Reply {}

    record Generation(
        JsonNode request,
        boolean chat,
        String model,
        long promptTokens,
        int choices,
        List<String> tokens,
        String finishReason)
        implements Reply {}
  }

  private Reply parse(String text, boolean chat) {
    JsonNode request;
    try {
      request = JSON.readTree(text.isEmpty() ? "{}" : text);
    } catch (JacksonException e) {
      return new Reply.Invalid("the request body is not JSON");
    }
    if (!request.isObject()) {
      return new Reply.Invalid("the request body must be a JSON object");
    }
    PromptCount prompt = chat ? counter.countChat(request) : counter.countCompletion(request);
    int n = Math.max(1, request.path("n").asInt(1));
    int prompts = chat ? 1 : Math.max(1, prompt.prompts());
    List<String> answer = answers.answer(seed(request, chat));
    JsonNode limit =
        chat && request.hasNonNull("max_completion_tokens")
            ? request.get("max_completion_tokens")
            : request.path("max_tokens");
    int maxTokens =
        limit.canConvertToInt()
            ? limit.intValue()
            : chat ? answer.size() : COMPLETIONS_DEFAULT_MAX_TOKENS;
    int produced = Math.max(0, Math.min(maxTokens, answer.size()));
    String finish = produced < answer.size() ? "length" : "stop";
    String served = request.path("model").stringValue(model);
    return new Reply.Generation(
        request,
        chat,
        served,
        prompt.totalTokens(),
        n * prompts,
        answer.subList(0, produced),
        finish);
  }

  /** The same question gets the same answer; different questions go round the answers. */
  private static int seed(JsonNode request, boolean chat) {
    JsonNode asked = chat ? request.path("messages") : request.path("prompt");
    return asked.toString().hashCode();
  }

  private Publisher<Void> answer(HttpServerResponse response, Reply.Generation generation) {
    if (generation.request().path("stream").asBoolean(false)) {
      Flux<ByteBuf> events =
          Flux.fromIterable(chunks(generation))
              .delayElements(properties.tokenDelay())
              .delaySubscription(properties.firstTokenDelay())
              .map(data -> Unpooled.copiedBuffer("data: " + data + "\n\n", StandardCharsets.UTF_8));
      return response
          .status(200)
          .header("content-type", "text/event-stream; charset=utf-8")
          .send(events, buffer -> true);
    }
    Duration generating =
        properties
            .firstTokenDelay()
            .plus(properties.tokenDelay().multipliedBy(generation.tokens().size()));
    return Mono.delay(generating).then(Mono.from(sendJson(response, 200, completion(generation))));
  }

  private ObjectNode completion(Reply.Generation generation) {
    boolean chat = generation.chat();
    ObjectNode answer =
        header(id(chat), chat ? "chat.completion" : "text_completion", generation.model());
    String text = String.join("", generation.tokens());
    ArrayNode choices = answer.putArray("choices");
    for (int i = 0; i < generation.choices(); i++) {
      ObjectNode choice = choices.addObject();
      choice.put("index", i);
      if (chat) {
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.putNull("reasoning_content");
        message.put("content", text);
        message.putArray("tool_calls");
      } else {
        choice.put("text", text);
      }
      choice.putNull("logprobs");
      choice.put("finish_reason", generation.finishReason());
      choice.putNull("stop_reason");
    }
    answer.set(
        "usage",
        usage(generation.promptTokens(), (long) generation.tokens().size() * generation.choices()));
    answer.putNull("prompt_logprobs");
    return answer;
  }

  /** Every {@code data} payload of a stream, in vLLM's order, ending with {@code [DONE]}. */
  private List<String> chunks(Reply.Generation generation) {
    boolean chat = generation.chat();
    JsonNode options = generation.request().path("stream_options");
    boolean includeUsage = options.path("include_usage").asBoolean(false);
    boolean continuous = includeUsage && options.path("continuous_usage_stats").asBoolean(false);
    String object = chat ? "chat.completion.chunk" : "text_completion";
    String id = id(chat);
    long prompt = generation.promptTokens();
    List<String> tokens = generation.tokens();
    List<String> chunks = new ArrayList<>();
    if (chat) {
      for (int c = 0; c < generation.choices(); c++) {
        ObjectNode chunk = header(id, object, generation.model());
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", c);
        choice.putObject("delta").put("role", "assistant").put("content", "");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (continuous) {
          chunk.set("usage", usage(prompt, 0));
        }
        chunks.add(JSON.writeValueAsString(chunk));
      }
    }
    // As vLLM does: the usage of a chunk covers its own choice; the usage-only chunk, the total.
    for (int t = 1; t <= tokens.size(); t++) {
      for (int c = 0; c < generation.choices(); c++) {
        ObjectNode chunk = header(id, object, generation.model());
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", c);
        if (chat) {
          choice.putObject("delta").put("content", tokens.get(t - 1));
        } else {
          choice.put("text", tokens.get(t - 1));
        }
        choice.putNull("logprobs");
        if (t == tokens.size()) {
          choice.put("finish_reason", generation.finishReason());
          choice.putNull("stop_reason");
        } else {
          choice.putNull("finish_reason");
        }
        if (continuous) {
          chunk.set("usage", usage(prompt, t));
        }
        chunks.add(JSON.writeValueAsString(chunk));
      }
    }
    if (includeUsage) {
      ObjectNode last = header(id, object, generation.model());
      last.putArray("choices");
      last.set("usage", usage(prompt, (long) tokens.size() * generation.choices()));
      chunks.add(JSON.writeValueAsString(last));
    }
    chunks.add("[DONE]");
    return chunks;
  }

  private static String id(boolean chat) {
    return (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
  }

  private ObjectNode header(String id, String object, String servedModel) {
    ObjectNode node = JSON.createObjectNode();
    node.put("id", id);
    node.put("object", object);
    node.put("created", clock.instant().getEpochSecond());
    node.put("model", servedModel);
    return node;
  }

  private static ObjectNode usage(long prompt, long completion) {
    ObjectNode usage = JSON.createObjectNode();
    usage.put("prompt_tokens", prompt);
    usage.put("total_tokens", prompt + completion);
    usage.put("completion_tokens", completion);
    return usage;
  }

  private static ObjectNode error(String message) {
    ObjectNode error = JSON.createObjectNode();
    error.put("object", "error");
    error.put("message", message);
    error.put("type", "BadRequestError");
    error.putNull("param");
    error.put("code", 400);
    return error;
  }

  private static Publisher<Void> sendJson(HttpServerResponse response, int status, JsonNode body) {
    return response
        .status(HttpResponseStatus.valueOf(status))
        .header("content-type", "application/json")
        .sendString(Mono.just(JSON.writeValueAsString(body)), StandardCharsets.UTF_8)
        .then();
  }
}
