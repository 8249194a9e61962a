package io.simpletokenlimiter.api;

import io.simpletokenlimiter.tokens.PromptCount;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Relays one vLLM event stream to the client, event by event as it arrives: maps the model name
 * back, tracks the usage of every choice (vLLM sends it in every chunk because we asked for
 * continuous usage stats), and hides the usage the client did not ask for.
 */
final class StreamRelay {

  private static final Logger log = LoggerFactory.getLogger(StreamRelay.class);
  private static final String DONE = "[DONE]";

  private final JsonMapper json;
  private final String publicModel;
  private final boolean keepUsageChunk;
  private final boolean keepChunkUsage;
  private final SseEventSplitter splitter = new SseEventSplitter();
  private final Map<Integer, Long> completionByChoice = new ConcurrentHashMap<>();
  private volatile long promptReported;
  private volatile Usage finalUsage;
  private volatile long chunksWithChoices;

  StreamRelay(JsonMapper json, String publicModel, CompletionRequest request) {
    this.json = json;
    this.publicModel = publicModel;
    this.keepUsageChunk = request.clientWantsUsage();
    this.keepChunkUsage = request.clientWantsContinuousUsage();
  }

  /** SSE events for the client, {@code data: ...\n\n} each, one per upstream event. */
  Flux<byte[]> relay(Flux<byte[]> upstreamBody) {
    return upstreamBody
        .concatMapIterable(splitter::push)
        .concatWith(Flux.defer(() -> Flux.fromIterable(splitter.finish())))
        .concatMapIterable(this::rewrite)
        .map(data -> ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
  }

  /**
   * What the stream has cost so far. vLLM's final usage chunk carries the totals. Before it, the
   * usage in each chunk covers only that chunk's choice (and, for a list of prompts, its own
   * prompt), so the charge is the prompt plus the most each choice has reported.
   *
   * @param prompt the counted prompt of the request
   * @param beforeAnyChunk the charge when no chunk with choices arrived at all
   * @param unknown the charge when chunks arrived without any usage: a chunk may carry several
   *     tokens, so only the reservation is safe
   */
  Usage produced(PromptCount prompt, Usage beforeAnyChunk, Usage unknown) {
    Usage totals = finalUsage;
    if (totals != null) {
      return totals;
    }
    if (!completionByChoice.isEmpty()) {
      long completion = completionByChoice.values().stream().mapToLong(Long::longValue).sum();
      long promptTokens = prompt.prompts() == 1 ? promptReported : prompt.totalTokens();
      return new Usage(promptTokens, completion);
    }
    return chunksWithChoices > 0 ? unknown : beforeAnyChunk;
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
    Optional<Usage> reported = usage == null ? Optional.empty() : Usage.from(usage);
    JsonNode choices = object.path("choices");
    boolean usageOnly = choices.isArray() && choices.isEmpty() && reported.isPresent();
    if (usageOnly) {
      finalUsage = reported.get();
      return keepUsageChunk ? List.of(json.writeValueAsString(object)) : List.of();
    }
    if (!choices.isEmpty()) {
      chunksWithChoices++;
      reported.ifPresent(perChoice -> recordChoiceUsage(choices, perChoice));
    }
    if (!keepChunkUsage) {
      object.remove("usage");
    }
    return List.of(json.writeValueAsString(object));
  }

  private void recordChoiceUsage(JsonNode choices, Usage perChoice) {
    promptReported = Math.max(promptReported, perChoice.promptTokens());
    for (JsonNode choice : choices) {
      completionByChoice.merge(
          choice.path("index").asInt(0), perChoice.completionTokens(), Math::max);
    }
  }
}
