package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.test.StepVerifier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code "stream": true}: relayed event by event, usage tracked, settled on every ending. */
class StreamingTest extends ProxyIntegrationTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Test
  void relaysVllmEventsVerbatimWithThePublicModelAndNoUsageUnasked() {
    VLLM.promptTokens(30).answerTokens(10);

    RawAnswer answer =
        postRaw("/v1/chat/completions", chatBody("\"stream\":true,\"max_tokens\":5"));

    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.contentType()).startsWith("text/event-stream");
    assertThat(answer.rateLimitHeader()).isEqualTo("1000");
    assertThat(answer.body()).startsWith("data: {").endsWith("\n\ndata: [DONE]\n\n");
    List<String> events = Arrays.asList(answer.body().split("\n\n"));
    assertThat(events).allSatisfy(event -> assertThat(event).startsWith("data: "));
    List<JsonNode> chunks = jsonChunks(events);
    assertThat(chunks).hasSize(6);
    assertThat(chunks)
        .allSatisfy(
            chunk -> {
              assertThat(chunk.path("object").stringValue()).isEqualTo("chat.completion.chunk");
              assertThat(chunk.path("model").stringValue()).isEqualTo(PUBLIC_MODEL);
              assertThat(chunk.has("usage")).isFalse();
              assertThat(chunk.path("choices")).isNotEmpty();
            });
    assertThat(chunks.get(0).path("choices").get(0).path("delta").path("role").stringValue())
        .isEqualTo("assistant");
    assertThat(chunks.get(5).path("choices").get(0).path("finish_reason").stringValue())
        .isEqualTo("length");

    JsonNode sent = VLLM.lastRequest().json();
    assertThat(sent.path("stream_options").path("include_usage").booleanValue()).isTrue();
    assertThat(sent.path("stream_options").path("continuous_usage_stats").booleanValue()).isTrue();
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(35);
  }

  @Test
  void clientAskingForUsageGetsTheUsageChunkOnly() {
    VLLM.promptTokens(12).answerTokens(3);

    RawAnswer answer =
        postRaw(
            "/api/v1/chat/completions",
            chatBody("\"stream\":true,\"stream_options\":{\"include_usage\":true}"));

    List<JsonNode> chunks = jsonChunks(Arrays.asList(answer.body().split("\n\n")));
    JsonNode last = chunks.get(chunks.size() - 1);
    assertThat(last.path("choices")).isEmpty();
    assertThat(last.path("usage").path("total_tokens").intValue()).isEqualTo(15);
    assertThat(last.path("model").stringValue()).isEqualTo(PUBLIC_MODEL);
    assertThat(chunks.subList(0, chunks.size() - 1))
        .allSatisfy(chunk -> assertThat(chunk.has("usage")).isFalse());
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(15);
  }

  @Test
  void clientAskingForContinuousUsageGetsItInEveryChunk() {
    VLLM.promptTokens(12).answerTokens(3);

    RawAnswer answer =
        postRaw(
            "/v1/chat/completions",
            chatBody(
                "\"stream\":true,\"stream_options\":{\"include_usage\":true,"
                    + "\"continuous_usage_stats\":true}"));

    List<JsonNode> chunks = jsonChunks(Arrays.asList(answer.body().split("\n\n")));
    assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.has("usage")).isTrue());
    awaitAllSettled();
  }

  @Test
  void aServerThatIgnoresStreamAnswersWithItsWholeAnswerChargedByItsUsage() {
    VLLM.mode(FakeVllm.Mode.JSON_ONLY).promptTokens(30).answerTokens(10);

    RawAnswer answer =
        postRaw("/v1/chat/completions", chatBody("\"stream\":true,\"max_tokens\":50"));

    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.contentType()).startsWith("application/json");
    JsonNode whole = JSON.readTree(answer.body());
    assertThat(whole.path("object").stringValue()).isEqualTo("chat.completion");
    assertThat(whole.path("model").stringValue()).isEqualTo(PUBLIC_MODEL);
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(40);
  }

  @Test
  void legacyCompletionsStreamToo() {
    VLLM.promptTokens(4).answerTokens(3);

    RawAnswer answer =
        postRaw("/v1/completions", "{\"prompt\":\"Once\",\"stream\":true,\"max_tokens\":8}");

    List<JsonNode> chunks = jsonChunks(Arrays.asList(answer.body().split("\n\n")));
    assertThat(chunks).hasSize(3);
    assertThat(chunks)
        .allSatisfy(
            chunk -> {
              assertThat(chunk.path("object").stringValue()).isEqualTo("text_completion");
              assertThat(chunk.path("model").stringValue()).isEqualTo(PUBLIC_MODEL);
            });
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(7);
  }

  @Test
  void eventsReachTheClientBeforeTheStreamEnds() {
    VLLM.answerTokens(6).holdLastChunk();

    Flux<String> events = streamEvents(chatBody("\"stream\":true"));

    StepVerifier.create(events)
        .expectNextMatches(event -> event.contains("\"role\":\"assistant\""))
        .expectNextMatches(event -> event.contains("tok1 "))
        .expectNextMatches(event -> event.contains("tok2 "))
        // vLLM still holds the end of the answer: nothing above waited for it.
        .then(VLLM::releaseHeldChunks)
        .thenConsumeWhile(event -> true)
        .expectComplete()
        .verify(Duration.ofSeconds(10));
    awaitAllSettled();
  }

  @Test
  void clientDisconnectCancelsTheUpstreamAndChargesWhatWasProduced() {
    // Held at its last chunk, vLLM cannot finish before the cancel, however slow the client.
    VLLM.promptTokens(20).answerTokens(400).chunkDelay(Duration.ofMillis(20)).holdLastChunk();

    StepVerifier.create(streamEvents(chatBody("\"stream\":true,\"max_tokens\":400")))
        .expectNextCount(5)
        .thenCancel()
        .verify(Duration.ofSeconds(10));

    await().atMost(Duration.ofSeconds(5)).until(() -> VLLM.lastRequest().cancelled());
    awaitAllSettled();
    long charged = store.settles().get(0).chargedTokens();
    assertThat(charged).isGreaterThanOrEqualTo(20 + 4).isLessThan(20 + 400);
  }

  @Test
  void aCutStreamWithSeveralChoicesIsChargedEveryChoice() {
    // Held at its last chunk, vLLM cannot finish before the cancel, however slow the client.
    VLLM.promptTokens(20).answerTokens(50).chunkDelay(Duration.ofMillis(5)).holdLastChunk();

    // 4 role chunks, then tokens round-robin over the 4 choices: 40 events = 10 tokens each.
    StepVerifier.create(streamEvents(chatBody("\"stream\":true,\"max_tokens\":50,\"n\":4")))
        .expectNextCount(44)
        .thenCancel()
        .verify(Duration.ofSeconds(10));

    await().atMost(Duration.ofSeconds(5)).until(() -> VLLM.lastRequest().cancelled());
    awaitAllSettled();
    long charged = store.settles().get(0).chargedTokens();
    assertThat(charged).isGreaterThanOrEqualTo(20 + 4 * 10).isLessThan(20 + 4 * 50);
  }

  @Test
  void upstreamCutMidStreamEndsTheStreamWithAnErrorEventAndChargesWhatWasProduced() {
    VLLM.promptTokens(10).answerTokens(8).mode(FakeVllm.Mode.CUT_MID_STREAM);

    RawAnswer answer = postRaw("/v1/chat/completions", chatBody("\"stream\":true"));

    assertThat(answer.status()).isEqualTo(200);
    List<String> events = Arrays.asList(answer.body().split("\n\n"));
    assertThat(events.get(events.size() - 1)).contains("model_service_error");
    assertThat(events).doesNotContain("data: [DONE]");
    awaitAllSettled();
    long charged = store.settles().get(0).chargedTokens();
    assertThat(charged).isGreaterThanOrEqualTo(10).isLessThan(18);
  }

  @Test
  void upstreamGoingQuietMidStreamIsCutAfterTheIdleTimeout() {
    // Sends the role chunk and tok1..tok4, then never the rest.
    VLLM.promptTokens(10).answerTokens(5).holdLastChunk();

    RawAnswer answer = postRaw("/v1/chat/completions", chatBody("\"stream\":true"));

    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.body()).contains("tok4 ").doesNotContain("tok5 ");
    assertThat(answer.body()).contains("model_service_error").doesNotContain("[DONE]");
    await().atMost(Duration.ofSeconds(5)).until(() -> VLLM.lastRequest().cancelled());
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(10 + 4);
  }

  @Test
  void upstreamRejectingAStreamIsPassedThroughAndChargedNothing() {
    VLLM.mode(FakeVllm.Mode.REJECT_400);

    RawAnswer answer = postRaw("/v1/chat/completions", chatBody("\"stream\":true"));

    assertThat(answer.status()).isEqualTo(400);
    assertThat(JSON.readTree(answer.body()).path("type").stringValue())
        .isEqualTo("BadRequestError");
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isZero();
  }

  @Test
  void upstreamFailingAStreamIs503AndChargedNothing() {
    VLLM.mode(FakeVllm.Mode.FAIL_500);

    RawAnswer answer = postRaw("/v1/chat/completions", chatBody("\"stream\":true"));

    assertThat(answer.status()).isEqualTo(503);
    assertThat(answer.body()).contains("model_service_error");
    assertThat(answer.rateLimitHeader()).isEqualTo("1000");
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isZero();
  }

  private Flux<String> streamEvents(String body) {
    return client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .accept(MediaType.TEXT_EVENT_STREAM)
        .bodyValue(body)
        .exchange()
        .expectStatus()
        .isOk()
        .returnResult(String.class)
        .getResponseBody();
  }

  private RawAnswer postRaw(String path, String body) {
    return HttpClient.create()
        .headers(headers -> headers.set("X-User-ID", USER).set("Content-Type", "application/json"))
        .post()
        .uri(baseUrl() + path)
        .send(ByteBufFlux.fromString(Mono.just(body)))
        .responseSingle(
            (response, content) ->
                content
                    .asString(StandardCharsets.UTF_8)
                    .defaultIfEmpty("")
                    .map(
                        text ->
                            new RawAnswer(
                                response.status().code(),
                                String.valueOf(response.responseHeaders().get("Content-Type")),
                                String.valueOf(
                                    response.responseHeaders().get("x-ratelimit-limit-tokens")),
                                text)))
        .block(Duration.ofSeconds(15));
  }

  private static List<JsonNode> jsonChunks(List<String> events) {
    List<JsonNode> chunks = new ArrayList<>();
    for (String event : events) {
      String data = event.substring("data: ".length());
      if (!data.equals("[DONE]")) {
        chunks.add(JSON.readTree(data));
      }
    }
    return chunks;
  }

  private record RawAnswer(int status, String contentType, String rateLimitHeader, String body) {}
}
