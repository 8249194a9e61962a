package io.simpletokenlimiter.testing.vllm;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One request as the fake vLLM received it. It ends either {@link #completed()} or {@link
 * #cancelled()}, whichever happened first: an answer whose connection the client closed before the
 * last byte was written is cancelled even if the write then finished into the closed connection
 * (vLLM stops generating when it sees the connection close).
 */
public final class RecordedRequest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final String method;
  private final String path;
  private final Map<String, List<String>> headers;
  private final String body;
  private final Instant receivedAt;
  private final AtomicReference<Ending> ending = new AtomicReference<>();
  private final AtomicReference<ReportedUsage> reportedUsage = new AtomicReference<>();

  RecordedRequest(
      String method, String path, Map<String, List<String>> headers, String body, Instant at) {
    this.method = method;
    this.path = path;
    this.headers = headers;
    this.body = body;
    this.receivedAt = at;
  }

  public String method() {
    return method;
  }

  public String path() {
    return path;
  }

  /** Header values by lower-case name. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  public String header(String name) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null || values.isEmpty() ? "" : values.get(0);
  }

  public String body() {
    return body;
  }

  /** The body parsed as JSON. */
  public JsonNode json() {
    return JSON.readTree(body);
  }

  public Instant receivedAt() {
    return receivedAt;
  }

  /** The whole answer was written. */
  public boolean completed() {
    return ending.get() == Ending.COMPLETED;
  }

  /** The client went away before the whole answer was written. */
  public boolean cancelled() {
    return ending.get() == Ending.CANCELLED;
  }

  /**
   * The usage of the answer the fake set out to send (its final {@code usage}); empty when it
   * answered with an error or not at all. Tokens served are this when {@link #completed()}.
   */
  public Optional<ReportedUsage> reportedUsage() {
    return Optional.ofNullable(reportedUsage.get());
  }

  void reportUsage(int promptTokens, int completionTokens) {
    reportedUsage.set(new ReportedUsage(promptTokens, completionTokens));
  }

  void markCompleted() {
    ending.compareAndSet(null, Ending.COMPLETED);
  }

  void markClosed() {
    ending.compareAndSet(null, Ending.CANCELLED);
  }

  private enum Ending {
    COMPLETED,
    CANCELLED
  }

  /** The {@code usage} object of an answer. */
  public record ReportedUsage(int promptTokens, int completionTokens) {

    public int totalTokens() {
      return promptTokens + completionTokens;
    }
  }
}
