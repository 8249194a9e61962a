package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.MeterRegistry;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One usage event per finished request, each outcome of the README's error table field by field.
 */
class UsageEventsTest extends ProxyIntegrationTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Autowired MeterRegistry meters;

  private final ListAppender<ILoggingEvent> events = new ListAppender<>();
  private final Logger usageLogger = (Logger) LoggerFactory.getLogger(UsageEvents.LOGGER);
  private String user;

  @BeforeEach
  void captureEvents() {
    user = "events-" + UUID.randomUUID();
    events.start();
    usageLogger.addAppender(events);
    VLLM.promptTokens(12).answerTokens(7);
  }

  @AfterEach
  void stopCapturing() {
    usageLogger.detachAppender(events);
  }

  @Test
  void theLinesGoToStandardOutputThroughTheBatchingWriter() {
    assertThat(usageLogger.getAppender("USAGE_EVENTS"))
        .isInstanceOf(BatchingConsoleAppender.class)
        .matches(appender -> appender.isStarted());
    assertThat(usageLogger.isAdditive()).isFalse();
  }

  @Test
  void aServedAnswer() {
    post(chatBody("\"max_tokens\":20")).expectStatus().isOk();

    long reserved = store.admitted().get(0).reservedTokens();
    assertThat(eventOf(user))
        .containsAllEntriesOf(
            Map.of(
                "user",
                user,
                "endpoint",
                "chat/completions",
                "model",
                PUBLIC_MODEL,
                "prompt_tokens",
                12,
                "completion_tokens",
                7,
                "charged_tokens",
                19,
                "status",
                200,
                "outcome",
                "served",
                "stream",
                false,
                "replica",
                "local"))
        .containsEntry("reserved_units", (int) reserved)
        .containsEntry("reserved_tokens", (int) reserved)
        .doesNotContainKey("team")
        .doesNotContainKey("limit_type")
        .containsKey("duration_ms");
  }

  @Test
  void aServedStreamOnTheLegacyEndpoint() {
    client
        .post()
        .uri("/v1/completions")
        .header("X-User-ID", user)
        .accept(MediaType.TEXT_EVENT_STREAM)
        .bodyValue(
            "{\"model\":\"llama3.2-1b\",\"prompt\":\"Hello\",\"max_tokens\":20,\"stream\":true}")
        .exchange()
        .expectStatus()
        .isOk()
        .returnResult(String.class)
        .getResponseBody()
        .blockLast(Duration.ofSeconds(10));

    assertThat(eventOf(user))
        .containsEntry("endpoint", "completions")
        .containsEntry("stream", true)
        .containsEntry("outcome", "served")
        .containsEntry("charged_tokens", 19);
  }

  @Test
  void aRejection() {
    store.reject(new Admission.Rejected(LimitType.HOUR, 90_500, RecordingLimitStore.QUOTA));

    post(chatBody("\"max_tokens\":20")).expectStatus().isEqualTo(429);

    assertThat(eventOf(user))
        .containsEntry("status", 429)
        .containsEntry("outcome", "rejected")
        .containsEntry("limit_type", "hour")
        .containsEntry("reserved_units", 0)
        .containsEntry("reserved_tokens", 0)
        .containsEntry("charged_tokens", 0);
  }

  @Test
  void anInvalidRequest() {
    post("{\"messages\": not json").expectStatus().isBadRequest();

    assertThat(eventOf(user))
        .containsEntry("status", 400)
        .containsEntry("outcome", "invalid")
        .containsEntry("charged_tokens", 0);
  }

  @Test
  void anUpstreamError() {
    VLLM.mode(FakeVllm.Mode.FAIL_500);

    post(chatBody("\"max_tokens\":20")).expectStatus().isEqualTo(503);

    assertThat(eventOf(user))
        .containsEntry("status", 503)
        .containsEntry("outcome", "upstream_error")
        .containsEntry("charged_tokens", 0);
  }

  @Test
  void aClientThatLeavesWhileTheAnswerIsGenerated() throws Exception {
    VLLM.holdAnswers();
    byte[] body = chatBody("\"max_tokens\":20").getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket("127.0.0.1", port)) {
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-User-ID: "
                  + user
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      await().atMost(Duration.ofSeconds(5)).until(() -> !VLLM.generationRequests().isEmpty());
      socket.setSoLinger(true, 0);
    }

    long reserved = store.admitted().get(0).reservedTokens();
    assertThat(eventOf(user))
        .containsEntry("status", UsageEvents.CLIENT_CLOSED_REQUEST)
        .containsEntry("outcome", "client_cancel")
        .containsEntry("charged_tokens", (int) reserved)
        .containsEntry("reserved_units", (int) reserved);
  }

  @Test
  void openTelemetryGenAiMetricsCountTheSameTokens() {
    double outputBefore = tokens("output");
    double inputBefore = tokens("input");
    long streamsBefore = firstChunkTimer().count();

    post(chatBody("\"max_tokens\":20")).expectStatus().isOk();
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", user)
        .accept(MediaType.TEXT_EVENT_STREAM)
        .bodyValue(chatBody("\"stream\":true,\"max_tokens\":20"))
        .exchange()
        .expectStatus()
        .isOk()
        .returnResult(String.class)
        .getResponseBody()
        .blockLast(Duration.ofSeconds(10));

    await().atMost(Duration.ofSeconds(5)).until(() -> tokens("output") == outputBefore + 14);
    assertThat(tokens("input")).isEqualTo(inputBefore + 24);
    assertThat(firstChunkTimer().count()).isEqualTo(streamsBefore + 1);
    assertThat(
            meters
                .get("gen_ai.client.operation.duration")
                .tag("gen_ai.operation.name", "chat")
                .tag("gen_ai.request.model", PUBLIC_MODEL)
                .timer()
                .count())
        .isPositive();
  }

  private double tokens(String type) {
    var summary =
        meters
            .find("gen_ai.client.token.usage")
            .tag("gen_ai.operation.name", "chat")
            .tag("gen_ai.token.type", type)
            .summary();
    return summary == null ? 0 : summary.totalAmount();
  }

  private io.micrometer.core.instrument.Timer firstChunkTimer() {
    var timer =
        meters
            .find("gen_ai.client.operation.time_to_first_chunk")
            .tag("gen_ai.operation.name", "chat")
            .timer();
    return timer == null ? meters.timer("unused.placeholder") : timer;
  }

  private org.springframework.test.web.reactive.server.WebTestClient.ResponseSpec post(
      String body) {
    return client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", user)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(body)
        .exchange();
  }

  /** The one event of {@code user}, as a map. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> eventOf(String user) {
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> events.list.stream().anyMatch(e -> e.getFormattedMessage().contains(user)));
    var mine =
        events.list.stream()
            .map(ILoggingEvent::getFormattedMessage)
            .filter(line -> line.contains("\"" + user + "\""))
            .toList();
    assertThat(mine).hasSize(1);
    JsonNode event = JSON.readTree(mine.get(0));
    return JSON.convertValue(event, Map.class);
  }
}
