package io.simpletokenlimiter.testing.vllm;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A stand-in for vLLM's OpenAI-compatible server on a real socket: the answers have vLLM's exact
 * shapes (ids, objects, usage, SSE chunks, usage-only chunk, {@code [DONE]}), and it can be told to
 * misbehave the ways a real model server does. It records every request, and whether the client
 * hung up before the answer was complete.
 *
 * <p>Completion tokens per choice are {@code min(max_tokens, answerTokens)}; prompt tokens are
 * {@link #promptTokens(int) fixed} or computed as a quarter of the prompt's UTF-8 bytes plus 10,
 * which never exceeds the byte bound of the interim counter. Thread-safe; reuse one instance and
 * {@link #reset()} it between tests.
 */
public final class FakeVllm implements AutoCloseable {

  public static final String MODEL = "meta-llama/Llama-3.2-1B-Instruct";
  public static final int MAX_MODEL_LEN = 2048;

  /** How the server answers generation requests. */
  public enum Mode {
    /** Answers like vLLM. */
    NORMAL,
    /** 500 with an error body. */
    FAIL_500,
    /** 400 with vLLM's error body, as for a request the model cannot serve. */
    REJECT_400,
    /** Reads the request and never answers. */
    HANG,
    /** Streams: sends half the chunks, then closes the connection. Otherwise: closes at once. */
    CUT_MID_STREAM,
    /** Non-streamed: 20 MB of JSON white space before the answer, as a broken upstream might. */
    OVERSIZED_ANSWER,
    /** Non-streamed: the answer one byte per {@link #chunkDelay(Duration)}. */
    DRIP,
    /** Non-streamed: usage reports 10^12 completion tokens, whatever {@code max_tokens} said. */
    OVER_REPORT,
    /** Streamed: content chunks, with usage, every {@link #chunkDelay(Duration)}, without end. */
    ENDLESS_STREAM,
    /** Ignores {@code stream}: one JSON answer to every request, as the benchmark's nginx fake. */
    JSON_ONLY
  }

  public static final int OVERSIZED_BYTES = 20 * 1024 * 1024;
  public static final long OVER_REPORTED_TOKENS = 1_000_000_000_000L;

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger healthProbes = new AtomicInteger();
  private volatile DisposableServer server;
  private volatile boolean down;
  private volatile ChannelGroup connections;
  private volatile int port;
  private volatile Mode mode;
  private volatile int answerTokens;
  private volatile int fixedPromptTokens;
  private volatile int cachedPromptTokens;
  private volatile Duration answerDelay;
  private volatile Duration chunkDelay;
  private volatile boolean healthy;
  private volatile boolean recording;
  private volatile Sinks.Empty<Void> lastChunkGate;
  private volatile Sinks.Empty<Void> answerGate;

  private FakeVllm() {
    reset();
  }

  /** Starts on a free port of the loopback interface. */
  public static FakeVllm start() {
    FakeVllm fake = new FakeVllm();
    fake.bind(0);
    return fake;
  }

  /** Back to answering normally, fast, with 10 completion tokens; forgets recorded requests. */
  public FakeVllm reset() {
    mode = Mode.NORMAL;
    answerTokens = 10;
    fixedPromptTokens = -1;
    cachedPromptTokens = -1;
    answerDelay = Duration.ZERO;
    chunkDelay = Duration.ZERO;
    healthy = true;
    recording = true;
    Sinks.Empty<Void> gate = lastChunkGate;
    if (gate != null) {
      gate.tryEmitEmpty();
    }
    lastChunkGate = null;
    releaseAnswers();
    answerGate = null;
    requests.clear();
    healthProbes.set(0);
    return this;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public FakeVllm mode(Mode mode) {
    this.mode = mode;
    return this;
  }

  /** Completion tokens per choice when {@code max_tokens} allows. */
  public FakeVllm answerTokens(int tokens) {
    this.answerTokens = tokens;
    return this;
  }

  /** Reports this many prompt tokens instead of computing them. */
  public FakeVllm promptTokens(int tokens) {
    this.fixedPromptTokens = tokens;
    return this;
  }

  /**
   * Reports this many of the prompt tokens as served from the prefix cache ({@code
   * usage.prompt_tokens_details.cached_tokens}), as vLLM does with prefix caching on; by default
   * the usage has no such detail.
   */
  public FakeVllm cachedPromptTokens(int tokens) {
    this.cachedPromptTokens = tokens;
    return this;
  }

  /** Waits this long before the status line. */
  public FakeVllm answerDelay(Duration delay) {
    this.answerDelay = delay;
    return this;
  }

  /** Waits this long before each stream chunk. */
  public FakeVllm chunkDelay(Duration delay) {
    this.chunkDelay = delay;
    return this;
  }

  /** Whether to keep received requests; a load test turns it off to keep memory flat. */
  public FakeVllm recording(boolean recording) {
    this.recording = recording;
    return this;
  }

  /** What {@code /health} answers: 200, or 503 when false. */
  public FakeVllm healthy(boolean healthy) {
    this.healthy = healthy;
    return this;
  }

  /**
   * Streams hold their last content chunk (and everything after it) until {@link
   * #releaseHeldChunks()}: proof that the proxy relays early chunks without waiting for the end.
   */
  public FakeVllm holdLastChunk() {
    lastChunkGate = Sinks.empty();
    return this;
  }

  public void releaseHeldChunks() {
    Sinks.Empty<Void> gate = lastChunkGate;
    if (gate != null) {
      gate.tryEmitEmpty();
    }
  }

  /**
   * Generation requests are read and recorded, but answered (status line and all) only after {@link
   * #releaseAnswers()}: every admitted request stays in flight until the test lets go.
   */
  public FakeVllm holdAnswers() {
    answerGate = Sinks.empty();
    return this;
  }

  /** Lets every held answer, and every later one, go; {@link #holdAnswers()} holds again. */
  public void releaseAnswers() {
    Sinks.Empty<Void> gate = answerGate;
    if (gate != null) {
      gate.tryEmitEmpty();
    }
  }

  /**
   * Lets the answers held so far go and holds every later one: the model frees the slots in use at
   * once, and the requests that take them stay in flight until the next release.
   */
  public void releaseHeldAnswers() {
    Sinks.Empty<Void> held = answerGate;
    answerGate = Sinks.empty();
    if (held != null) {
      held.tryEmitEmpty();
    }
  }

  /**
   * Closes the port: connections are refused until {@link #up()}. Kept-alive connections are closed
   * on their own loops once the port is: a request read on one before that has its connection
   * closed without an answer, as from a dead vLLM (SlotLeakTest once got a 200 so).
   */
  public void down() {
    down = true;
    DisposableServer running = server;
    if (running != null) {
      running.disposeNow(Duration.ofSeconds(5));
      server = null;
    }
  }

  /** Listens again on the same port. */
  public void up() {
    down = false;
    if (server == null) {
      bind(port);
    }
  }

  public List<RecordedRequest> requests() {
    return List.copyOf(requests);
  }

  /** Requests to the generation endpoints only. */
  public List<RecordedRequest> generationRequests() {
    return requests.stream().filter(r -> r.path().endsWith("completions")).toList();
  }

  public RecordedRequest lastRequest() {
    List<RecordedRequest> generation = generationRequests();
    if (generation.isEmpty()) {
      throw new IllegalStateException("no generation request received");
    }
    return generation.get(generation.size() - 1);
  }

  /**
   * The connections open to this fake now. A client's pool closes the ones it leaves idle, so a
   * connection that stays open is held by someone: an answer nobody reads, which a real vLLM would
   * go on generating.
   */
  public int openConnections() {
    return connections.size();
  }

  public int healthProbes() {
    return healthProbes.get();
  }

  @Override
  public void close() {
    reset();
    down();
  }

  private void bind(int requestedPort) {
    connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    server =
        HttpServer.create()
            .host("127.0.0.1")
            .port(requestedPort)
            // So that down() also closes open keep-alive connections, as a dead vLLM would.
            .channelGroup(connections)
            .route(
                routes ->
                    routes
                        .post("/v1/chat/completions", alive((req, res) -> generate(req, res, true)))
                        .post("/v1/completions", alive((req, res) -> generate(req, res, false)))
                        .get("/v1/models", alive(this::models))
                        .get("/health", alive(this::health))
                        .post("/tokenize", alive(this::tokenize)))
            .bindNow(Duration.ofSeconds(10));
    port = server.port();
  }

  /** {@code route}, unless the fake is down: then the connection closes without an answer. */
  private BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> alive(
      BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> route) {
    return (request, response) ->
        down
            ? Mono.fromRunnable(() -> response.withConnection(c -> c.channel().close()))
            : route.apply(request, response);
  }

  private Publisher<Void> health(HttpServerRequest request, HttpServerResponse response) {
    healthProbes.incrementAndGet();
    return response.status(healthy ? 200 : 503).send();
  }

  private Publisher<Void> models(HttpServerRequest request, HttpServerResponse response) {
    ObjectNode model = JSON.createObjectNode();
    model.put("id", MODEL);
    model.put("object", "model");
    model.put("created", Instant.now().getEpochSecond());
    model.put("owned_by", "vllm");
    model.put("root", MODEL);
    model.putNull("parent");
    model.put("max_model_len", MAX_MODEL_LEN);
    ObjectNode list = JSON.createObjectNode();
    list.put("object", "list");
    list.putArray("data").add(model);
    return sendJson(response, 200, list);
  }

  private Publisher<Void> tokenize(HttpServerRequest request, HttpServerResponse response) {
    return request
        .receive()
        .aggregate()
        .asString(StandardCharsets.UTF_8)
        .defaultIfEmpty("{}")
        .flatMap(
            text -> {
              record(request, text);
              JsonNode body = JSON.readTree(text);
              int count =
                  body.has("messages") ? promptTokens(body, true) : promptTokens(body, false);
              ObjectNode answer = JSON.createObjectNode();
              answer.put("count", count);
              answer.put("max_model_len", MAX_MODEL_LEN);
              ArrayNode tokens = answer.putArray("tokens");
              for (int i = 0; i < count; i++) {
                tokens.add(i);
              }
              return Mono.from(sendJson(response, 200, answer));
            });
  }

  private Publisher<Void> generate(
      HttpServerRequest request, HttpServerResponse response, boolean chat) {
    return request
        .receive()
        .aggregate()
        .asString(StandardCharsets.UTF_8)
        .defaultIfEmpty("")
        .flatMap(
            text -> {
              RecordedRequest recorded = record(request, text);
              response.withConnection(connection -> connection.onDispose(recorded::markClosed));
              Mono<Void> answer =
                  Mono.defer(() -> Mono.from(answer(response, recorded, chat)))
                      .doOnSuccess(done -> recorded.markCompleted())
                      .doOnCancel(recorded::markClosed);
              Sinks.Empty<Void> gate = answerGate;
              if (gate != null) {
                answer = gate.asMono().then(answer).doOnCancel(recorded::markClosed);
              }
              return answerDelay.isZero()
                  ? answer
                  : Mono.delay(answerDelay).then(answer).doOnCancel(recorded::markClosed);
            });
  }

  private RecordedRequest record(HttpServerRequest request, String body) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    request
        .requestHeaders()
        .forEach(
            entry ->
                headers
                    .computeIfAbsent(
                        entry.getKey().toLowerCase(Locale.ROOT), name -> new ArrayList<>())
                    .add(entry.getValue()));
    RecordedRequest recorded =
        new RecordedRequest(
            request.method().name(), request.fullPath(), headers, body, Instant.now());
    if (recording) {
      requests.add(recorded);
    }
    return recorded;
  }

  private Publisher<Void> answer(
      HttpServerResponse response, RecordedRequest recorded, boolean chat) {
    JsonNode body = JSON.readTree(recorded.body().isEmpty() ? "{}" : recorded.body());
    boolean stream = body.path("stream").asBoolean(false);
    return switch (mode) {
      case FAIL_500 -> sendJson(response, 500, error("Internal server error", 500));
      case REJECT_400 ->
          sendJson(
              response,
              400,
              error(
                  "This model's maximum context length is 2048 tokens. However, you requested"
                      + " more tokens in the messages. Please reduce the length.",
                  400));
      case HANG -> Mono.never();
      case CUT_MID_STREAM ->
          stream
              ? sendStream(response, chunks(body, chat, recorded), true)
              : Mono.fromRunnable(() -> response.withConnection(c -> c.channel().close()));
      case NORMAL ->
          stream
              ? sendStream(response, chunks(body, chat, recorded), false)
              : sendJson(response, 200, completion(body, chat, recorded));
      case OVERSIZED_ANSWER -> sendOversized(response, completion(body, chat, recorded));
      case DRIP -> sendDripping(response, completion(body, chat, recorded));
      case OVER_REPORT -> {
        ObjectNode answer = completion(body, chat, recorded);
        ((ObjectNode) answer.get("usage")).put("completion_tokens", OVER_REPORTED_TOKENS);
        yield sendJson(response, 200, answer);
      }
      case ENDLESS_STREAM -> sendEndlessStream(response, shape(body, chat).promptTokens());
      case JSON_ONLY -> sendJson(response, 200, completion(body, chat, recorded));
    };
  }

  private static Publisher<Void> sendOversized(HttpServerResponse response, JsonNode answer) {
    int piece = 64 * 1024;
    Flux<ByteBuf> whiteSpace =
        Flux.range(0, OVERSIZED_BYTES / piece)
            .map(i -> Unpooled.wrappedBuffer(" ".repeat(piece).getBytes(StandardCharsets.UTF_8)));
    return response
        .status(200)
        .header("content-type", "application/json")
        .send(
            whiteSpace.concatWith(
                Mono.fromSupplier(
                    () ->
                        Unpooled.copiedBuffer(
                            JSON.writeValueAsString(answer), StandardCharsets.UTF_8))))
        .then();
  }

  private Publisher<Void> sendDripping(HttpServerResponse response, JsonNode answer) {
    byte[] bytes = JSON.writeValueAsBytes(answer);
    return response
        .status(200)
        .header("content-type", "application/json")
        .send(
            Flux.range(0, bytes.length)
                .delayElements(chunkDelay)
                .map(i -> Unpooled.wrappedBuffer(bytes, i, 1)),
            buffer -> true)
        .then();
  }

  private Publisher<Void> sendEndlessStream(HttpServerResponse response, int promptTokens) {
    String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
    long created = Instant.now().getEpochSecond();
    Flux<ByteBuf> events =
        Flux.interval(chunkDelay.isZero() ? Duration.ofMillis(1) : chunkDelay)
            .map(
                t -> {
                  int produced = Math.toIntExact(t + 1);
                  ObjectNode chunk = chunkHeader(id, "chat.completion.chunk", created);
                  ObjectNode choice = chunk.putArray("choices").addObject();
                  choice.put("index", 0);
                  choice.putObject("delta").put("content", token(produced));
                  choice.putNull("logprobs");
                  choice.putNull("finish_reason");
                  chunk.set("usage", usage(promptTokens, produced));
                  return Unpooled.copiedBuffer(
                      "data: " + JSON.writeValueAsString(chunk) + "\n\n", StandardCharsets.UTF_8);
                });
    return response
        .status(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .send(events, buffer -> true)
        .then();
  }

  private static ObjectNode error(String message, int code) {
    ObjectNode error = JSON.createObjectNode();
    error.put("object", "error");
    error.put("message", message);
    error.put("type", code >= 500 ? "InternalServerError" : "BadRequestError");
    error.putNull("param");
    error.put("code", code);
    return error;
  }

  private static Publisher<Void> sendJson(HttpServerResponse response, int status, JsonNode body) {
    return response
        .status(HttpResponseStatus.valueOf(status))
        .header("content-type", "application/json")
        .sendString(Mono.just(JSON.writeValueAsString(body)), StandardCharsets.UTF_8)
        .then();
  }

  private Publisher<Void> sendStream(
      HttpServerResponse response, List<String> chunks, boolean cut) {
    List<String> events = new ArrayList<>(chunks);
    if (cut) {
      events = events.subList(0, Math.max(1, events.size() / 2));
    }
    Flux<String> flow = Flux.fromIterable(events);
    Sinks.Empty<Void> gate = lastChunkGate;
    if (gate != null && !cut) {
      // Hold from the last content chunk on: the finish_reason chunk, usage and [DONE].
      int held = events.size() - 3;
      flow =
          Flux.concat(
              Flux.fromIterable(events.subList(0, held)),
              gate.asMono().thenMany(Flux.fromIterable(events.subList(held, events.size()))));
    }
    if (!chunkDelay.isZero()) {
      flow = flow.delayElements(chunkDelay);
    }
    Function<String, ByteBuf> toEvent =
        data -> Unpooled.copiedBuffer("data: " + data + "\n\n", StandardCharsets.UTF_8);
    Mono<Void> sent =
        response
            .status(200)
            .header("content-type", "text/event-stream; charset=utf-8")
            .send(flow.map(toEvent), buffer -> true)
            .then();
    return cut
        ? sent.then(Mono.fromRunnable(() -> response.withConnection(c -> c.channel().close())))
            .then(Mono.never())
        : sent;
  }

  private ObjectNode completion(JsonNode request, boolean chat, RecordedRequest recorded) {
    Shape shape = shape(request, chat);
    recorded.reportUsage(shape.promptTokens(), shape.completionTokens() * shape.choices());
    ObjectNode answer = header(shape, chat ? "chat.completion" : "text_completion");
    ArrayNode choices = answer.putArray("choices");
    String text = text(shape.completionTokens());
    for (int i = 0; i < shape.choices(); i++) {
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
      choice.put("finish_reason", shape.finishReason());
      choice.putNull("stop_reason");
    }
    answer.set("usage", usage(shape.promptTokens(), shape.completionTokens() * shape.choices()));
    answer.putNull("prompt_logprobs");
    return answer;
  }

  /** Every {@code data} payload of a stream, in vLLM's order, ending with {@code [DONE]}. */
  private List<String> chunks(JsonNode request, boolean chat, RecordedRequest recorded) {
    Shape shape = shape(request, chat);
    recorded.reportUsage(shape.promptTokens(), shape.completionTokens() * shape.choices());
    JsonNode options = request.path("stream_options");
    boolean includeUsage = options.path("include_usage").asBoolean(false);
    boolean continuous = includeUsage && options.path("continuous_usage_stats").asBoolean(false);
    String object = chat ? "chat.completion.chunk" : "text_completion";
    String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    long created = Instant.now().getEpochSecond();
    List<String> chunks = new ArrayList<>();
    int produced = 0;
    if (chat) {
      for (int c = 0; c < shape.choices(); c++) {
        ObjectNode chunk = chunkHeader(id, object, created);
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", c);
        choice.putObject("delta").put("role", "assistant").put("content", "");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (continuous) {
          chunk.set("usage", usage(shape.promptTokens(), 0));
        }
        chunks.add(JSON.writeValueAsString(chunk));
      }
    }
    // As vLLM does, the usage in each chunk covers that chunk's choice only; the final
    // usage-only chunk has the totals.
    for (int t = 1; t <= shape.completionTokens(); t++) {
      for (int c = 0; c < shape.choices(); c++) {
        produced++;
        ObjectNode chunk = chunkHeader(id, object, created);
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", c);
        if (chat) {
          choice.putObject("delta").put("content", token(t));
        } else {
          choice.put("text", token(t));
        }
        choice.putNull("logprobs");
        if (t == shape.completionTokens()) {
          choice.put("finish_reason", shape.finishReason());
          choice.putNull("stop_reason");
        } else {
          choice.putNull("finish_reason");
        }
        if (continuous) {
          chunk.set("usage", usage(shape.promptTokens(), t));
        }
        chunks.add(JSON.writeValueAsString(chunk));
      }
    }
    if (includeUsage) {
      ObjectNode last = chunkHeader(id, object, created);
      last.putArray("choices");
      last.set("usage", usage(shape.promptTokens(), produced));
      chunks.add(JSON.writeValueAsString(last));
    }
    chunks.add("[DONE]");
    return chunks;
  }

  private ObjectNode header(Shape shape, String object) {
    String prefix = object.startsWith("chat") ? "chatcmpl-" : "cmpl-";
    return chunkHeader(
        prefix + UUID.randomUUID().toString().replace("-", ""),
        object,
        Instant.now().getEpochSecond());
  }

  private static ObjectNode chunkHeader(String id, String object, long created) {
    ObjectNode chunk = JSON.createObjectNode();
    chunk.put("id", id);
    chunk.put("object", object);
    chunk.put("created", created);
    chunk.put("model", MODEL);
    return chunk;
  }

  private ObjectNode usage(int prompt, int completion) {
    ObjectNode usage = JSON.createObjectNode();
    usage.put("prompt_tokens", prompt);
    usage.put("total_tokens", prompt + completion);
    usage.put("completion_tokens", completion);
    int cached = cachedPromptTokens;
    if (cached >= 0) {
      usage.putObject("prompt_tokens_details").put("cached_tokens", Math.min(cached, prompt));
    }
    return usage;
  }

  private static String token(int index) {
    return "tok" + index + " ";
  }

  private static String text(int tokens) {
    StringBuilder text = new StringBuilder();
    for (int t = 1; t <= tokens; t++) {
      text.append(token(t));
    }
    return text.toString();
  }

  private Shape shape(JsonNode request, boolean chat) {
    int n = request.path("n").asInt(1);
    int prompts =
        !chat && request.path("prompt").isArray() && !request.path("prompt").get(0).isNumber()
            ? request.path("prompt").size()
            : 1;
    // vLLM's legacy completions endpoint knows only max_tokens.
    JsonNode limit =
        chat && request.hasNonNull("max_completion_tokens")
            ? request.get("max_completion_tokens")
            : request.path("max_tokens");
    int maxTokens = limit.isIntegralNumber() ? limit.intValue() : chat ? answerTokens : 16;
    int completion = Math.min(maxTokens, answerTokens);
    String finish = completion < answerTokens ? "length" : "stop";
    return new Shape(promptTokens(request, chat), n * prompts, completion, finish);
  }

  private int promptTokens(JsonNode request, boolean chat) {
    if (fixedPromptTokens >= 0) {
      return fixedPromptTokens;
    }
    long bytes = 0;
    if (chat) {
      for (JsonNode message : request.path("messages")) {
        bytes += utf8(message.path("content"));
      }
    } else {
      bytes = utf8(request.path("prompt"));
    }
    return (int) (bytes / 4 + 10);
  }

  private static long utf8(JsonNode node) {
    if (node.isString()) {
      return node.stringValue().getBytes(StandardCharsets.UTF_8).length;
    }
    long bytes = 0;
    for (JsonNode child : node) {
      bytes += child.isNumber() ? 4 : utf8(child);
    }
    return bytes;
  }

  private record Shape(int promptTokens, int choices, int completionTokens, String finishReason) {}
}
