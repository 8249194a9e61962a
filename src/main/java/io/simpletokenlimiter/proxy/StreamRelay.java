package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.upstream.UpstreamUnavailableException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Relays one vLLM event stream to the client, event by event as it arrives: maps the model name
 * back, tracks the usage of every choice (vLLM sends it in every chunk because we asked for
 * continuous usage stats), hides the usage the client did not ask for, and cuts a stream that runs
 * past its granted budget. Settles the lease when the stream ends or breaks.
 */
final class StreamRelay {

  private static final Logger log = LoggerFactory.getLogger(StreamRelay.class);
  private static final String DONE = "[DONE]";

  /** vLLM's reads held for a client that reads slower than vLLM writes; then vLLM waits. */
  private static final int QUEUED_READS = 32;

  /** Chunks of a choice that carry no token: the first (the role) and the last (finish reason). */
  private static final int CHUNKS_WITHOUT_TOKENS = 2;

  private final JsonMapper json;
  private final String publicModel;
  private final PromptCount prompt;
  private final long budgetPerChoice;
  private final TokenUsage reservation;
  private final boolean keepUsageChunk;
  private final boolean keepChunkUsage;
  private final SseEventSplitter splitter = new SseEventSplitter();
  private final Map<Integer, Long> completionByChoice = new ConcurrentHashMap<>();
  private final Map<Integer, Long> chunksByChoice = new ConcurrentHashMap<>();
  private volatile long promptReported;
  private volatile TokenUsage finalUsage;

  StreamRelay(
      JsonMapper json,
      String publicModel,
      PreparedRequest prepared,
      long budgetPerChoice,
      TokenUsage reservation) {
    this.json = json;
    this.publicModel = publicModel;
    this.prompt = prepared.count();
    this.budgetPerChoice = budgetPerChoice;
    this.reservation = reservation;
    this.keepUsageChunk = prepared.request().clientWantsUsage();
    this.keepChunkUsage = prepared.request().clientWantsContinuousUsage();
  }

  /**
   * SSE events for the client, {@code data: ...\n\n} each, one per upstream event; the lease is
   * settled to what was produced when vLLM ends the stream or it breaks (then a last error event).
   */
  Flux<byte[]> relay(Flux<byte[]> upstreamBody, Lease lease) {
    // Events are counted as they arrive, before any operator queues them for the client: a client
    // that reads slowly and leaves is charged every chunk this replica received, relayed or not.
    return upstreamBody
        .map(bytes -> events(splitter.push(bytes)))
        .concatWith(Mono.fromCallable(() -> events(splitter.finish())))
        // A stream cut at its arrival still relays, first, the events the client has not read.
        .concatMapDelayError(Flux::fromIterable, QUEUED_READS)
        .concatWith(Mono.fromRunnable(() -> lease.settle(produced(reservation))))
        .onErrorResume(
            error -> {
              log.warn("Stream from vLLM broke off: {}", error.getMessage());
              lease.fail(produced(TokenUsage.NONE));
              return Flux.just(StreamErrorEvent.BYTES);
            });
  }

  /** What the stream has cost so far, for a client that leaves mid-stream. */
  TokenUsage producedIfCut() {
    return produced(new TokenUsage(prompt.totalTokens(), 0));
  }

  /**
   * What the stream has cost so far. vLLM's final usage chunk carries the totals. Before it, the
   * usage in each chunk covers only that chunk's choice (and, for a list of prompts, its own
   * prompt), so the charge is the prompt plus the most each choice has reported. Chunks without any
   * usage may carry several tokens each: then only the reservation is safe.
   *
   * @param beforeAnyChunk the charge when no chunk with choices arrived at all
   */
  private TokenUsage produced(TokenUsage beforeAnyChunk) {
    TokenUsage totals = finalUsage;
    if (totals != null) {
      return totals;
    }
    if (!completionByChoice.isEmpty()) {
      // A choice that ran past its budget was cut: the client received only the budget.
      long completion =
          completionByChoice.values().stream()
              .mapToLong(tokens -> Math.min(tokens, budgetPerChoice))
              .sum();
      long promptTokens = prompt.prompts() == 1 ? promptReported : prompt.totalTokens();
      return new TokenUsage(promptTokens, completion);
    }
    return chunksByChoice.isEmpty() ? beforeAnyChunk : reservation;
  }

  /** The client's SSE events for {@code data}, each upstream event's rewritten. */
  private List<byte[]> events(List<String> data) {
    List<byte[]> events = new ArrayList<>(data.size());
    for (String upstream : data) {
      for (String kept : rewrite(upstream)) {
        events.add(("data: " + kept + "\n\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    return events;
  }

  private List<String> rewrite(String data) {
    if (DONE.equals(data)) {
      return List.of(data);
    }
    JsonNode chunk;
    try {
      chunk = json.readTree(data);
    } catch (JacksonException e) {
      log.warn("Relaying an event from vLLM that is not JSON");
      return List.of(data);
    }
    if (!(chunk instanceof ObjectNode object)) {
      return List.of(data);
    }
    if (object.has("model")) {
      object.put("model", publicModel);
    }
    JsonNode usage = object.get("usage");
    Optional<TokenUsage> reported = usage == null ? Optional.empty() : ReportedUsage.from(usage);
    JsonNode choices = object.path("choices");
    boolean usageOnly = choices.isArray() && choices.isEmpty() && reported.isPresent();
    if (usageOnly) {
      finalUsage = reported.get();
      return keepUsageChunk ? List.of(json.writeValueAsString(object)) : List.of();
    }
    if (!choices.isEmpty()) {
      recordChoices(choices, reported);
    }
    if (!keepChunkUsage) {
      object.remove("usage");
    }
    return List.of(json.writeValueAsString(object));
  }

  /** Tracks each choice's usage; a choice past its granted budget ends the stream. */
  private void recordChoices(JsonNode choices, Optional<TokenUsage> reported) {
    reported.ifPresent(
        perChoice -> promptReported = Math.max(promptReported, perChoice.promptTokens()));
    for (JsonNode choice : choices) {
      int index = choice.path("index").asInt(0);
      long chunks = chunksByChoice.merge(index, 1L, Long::sum);
      long completion =
          reported
              .map(
                  perChoice ->
                      completionByChoice.merge(index, perChoice.completionTokens(), Math::max))
              .orElse(0L);
      if (completion > budgetPerChoice || chunks > budgetPerChoice + CHUNKS_WITHOUT_TOKENS) {
        throw new UpstreamUnavailableException(
            "vLLM streamed past the granted budget of " + budgetPerChoice + " tokens per choice");
      }
    }
  }
}
