package io.simpletokenlimiter.api;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Relays one vLLM event stream to the client, event by event as it arrives: maps the model name
 * back, remembers the latest usage (vLLM sends it in every chunk because we asked for continuous
 * usage stats), and hides the usage the client did not ask for.
 */
final class StreamRelay {

  private static final Logger log = LoggerFactory.getLogger(StreamRelay.class);
  private static final String DONE = "[DONE]";

  private final JsonMapper json;
  private final String publicModel;
  private final boolean keepUsageChunk;
  private final boolean keepChunkUsage;
  private final SseEventSplitter splitter = new SseEventSplitter();
  private volatile Usage lastUsage;
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
   * What the stream has cost so far: vLLM's latest usage; without one, the prompt plus a token per
   * chunk seen (a chunk carries at least one token); with no chunk at all, {@code nothing}.
   */
  Usage produced(long countedPromptTokens, Usage nothing) {
    Usage usage = lastUsage;
    if (usage != null) {
      return usage;
    }
    long chunks = chunksWithChoices;
    return chunks > 0 ? new Usage(countedPromptTokens, chunks) : nothing;
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
    reported.ifPresent(value -> lastUsage = value);
    JsonNode choices = object.path("choices");
    boolean usageOnly = choices.isArray() && choices.isEmpty() && reported.isPresent();
    if (usageOnly) {
      return keepUsageChunk ? List.of(json.writeValueAsString(object)) : List.of();
    }
    if (!choices.isEmpty()) {
      chunksWithChoices++;
    }
    if (!keepChunkUsage) {
      object.remove("usage");
    }
    return List.of(json.writeValueAsString(object));
  }
}
