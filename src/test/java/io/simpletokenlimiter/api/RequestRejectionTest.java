package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.store.StoreFullException;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.MediaType;
import org.springframework.test.json.JsonCompareMode;
import org.springframework.test.web.reactive.server.WebTestClient;
import reactor.core.publisher.Flux;

/** Requests that never reach vLLM: who, what and how much is wrong, and the limiter's "no". */
class RequestRejectionTest extends ProxyIntegrationTest {

  @Test
  void missingUserIdIsUnauthorized() {
    client
        .post()
        .uri("/api/v1/chat/completions")
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isUnauthorized()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("missing_user_id");
    assertNothingReservedOrForwarded();
  }

  @Test
  void emptyUserIdIsUnauthorized() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", "")
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isUnauthorized()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("missing_user_id");
  }

  static Stream<String> invalidUserIds() {
    return Stream.of(
        "has space", "a/b", "{tag}", "semi;colon", "x".repeat(129), "quote\"", "star*", "ümlaut");
  }

  @ParameterizedTest
  @MethodSource("invalidUserIds")
  void weirdUserIdIsRejected(String userId) {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", userId)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_user_id");
    assertNothingReservedOrForwarded();
  }

  @Test
  void twoUserIdHeadersAreOneTooMany() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", "alice", "bob")
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_user_id");
    assertNothingReservedOrForwarded();
  }

  @Test
  void aCommaJoinedListOfUserIdsIsInvalid() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", "alice,bob")
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_user_id");
    assertNothingReservedOrForwarded();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "user-1", "team.alpha:bob_2", "x@y.z"})
  void validUserIdsPass(String userId) {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", userId)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isOk();
    assertThat(store.admits().get(0).userId()).isEqualTo(userId);
    awaitAllSettled();
  }

  @Test
  void longestValidUserIdPasses() {
    String userId = "u".repeat(128);
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", userId)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isOk();
    awaitAllSettled();
  }

  private static final String CHAT = "/api/v1/chat/completions";
  private static final String COMPLETIONS = "/v1/completions";

  static Stream<Arguments> invalidBodies() {
    return Stream.of(
        Arguments.of(CHAT, "", "empty"),
        Arguments.of(CHAT, "{not json", "not valid JSON"),
        Arguments.of(CHAT, "[1,2]", "JSON object"),
        Arguments.of(CHAT, "\"text\"", "JSON object"),
        Arguments.of(CHAT, "{}", "'messages' is required"),
        Arguments.of(CHAT, "{\"messages\":[]}", "non-empty array"),
        Arguments.of(CHAT, "{\"messages\":\"hi\"}", "non-empty array"),
        Arguments.of(CHAT, "{\"messages\":[\"hi\"]}", "'messages[0]' must be an object"),
        Arguments.of(CHAT, "{\"messages\":[{\"content\":\"hi\"}]}", "'messages[0].role'"),
        Arguments.of(
            CHAT, "{\"messages\":[{\"role\":1,\"content\":\"hi\"}]}", "'messages[0].role'"),
        Arguments.of(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "content"),
        Arguments.of(CHAT, chatBody("\"max_tokens\":0"), "'max_tokens' must be a positive integer"),
        Arguments.of(CHAT, chatBody("\"max_tokens\":-3"), "'max_tokens'"),
        Arguments.of(CHAT, chatBody("\"max_tokens\":1.5"), "'max_tokens'"),
        Arguments.of(CHAT, chatBody("\"max_tokens\":\"100\""), "'max_tokens'"),
        Arguments.of(CHAT, chatBody("\"max_tokens\":99999999999"), "'max_tokens'"),
        Arguments.of(CHAT, chatBody("\"max_completion_tokens\":0"), "'max_completion_tokens'"),
        Arguments.of(CHAT, chatBody("\"n\":0"), "'n' must be a positive integer"),
        Arguments.of(CHAT, chatBody("\"best_of\":-1"), "'best_of' must be a positive integer"),
        Arguments.of(
            CHAT, chatBody("\"chat_template\":\"{{ x }}\""), "'chat_template' is not accepted"),
        Arguments.of(CHAT, chatBody("\"stream\":\"yes\""), "'stream' must be a boolean"),
        Arguments.of(CHAT, chatBody("\"stream\":1"), "'stream'"),
        Arguments.of(CHAT, chatBody("\"stream_options\":3"), "'stream_options'"),
        Arguments.of(
            CHAT,
            chatBody("\"stream\":true,\"stream_options\":{\"include_usage\":\"x\"}"),
            "'include_usage'"),
        Arguments.of(
            CHAT,
            "{\"model\":7,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
            "'model' must be a string"),
        Arguments.of(COMPLETIONS, "{}", "'prompt' is required"),
        Arguments.of(COMPLETIONS, "{\"prompt\":5}", "'prompt' must be"),
        Arguments.of(COMPLETIONS, "{\"prompt\":[]}", "'prompt' must be"),
        Arguments.of(COMPLETIONS, "{\"prompt\":[\"a\",1]}", "'prompt' must be"),
        Arguments.of(COMPLETIONS, "{\"prompt\":[[1,2],[]]}", "'prompt' must be"),
        Arguments.of(COMPLETIONS, "{\"prompt\":{\"text\":\"a\"}}", "'prompt' must be"),
        Arguments.of(COMPLETIONS, "{\"prompt\":[\"a\",\"b\"],\"n\":2147483647}", "'n'"),
        Arguments.of(
            COMPLETIONS, "{\"prompt\":\"a\",\"prompt_embeds\":\"AAAA\"}", "'prompt_embeds'"));
  }

  @ParameterizedTest
  @MethodSource("invalidBodies")
  void malformedRequestsAreInvalidWithAReason(String path, String body, String reason) {
    client
        .post()
        .uri(path)
        .header("X-User-ID", USER)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(body)
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_request")
        .jsonPath("$.message")
        .value(message -> assertThat((String) message).contains(reason));
    assertNothingReservedOrForwarded();
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"prompt\":[1,2,3]", "\"prompt\":[[1,2],[3]]", "\"prompt\":\"x\""})
  void tokenIdPromptsAreAccepted(String prompt) {
    client
        .post()
        .uri("/v1/completions")
        .header("X-User-ID", USER)
        .bodyValue("{" + prompt + ",\"max_tokens\":2}")
        .exchange()
        .expectStatus()
        .isOk();
    awaitAllSettled();
  }

  @Test
  void bodyOverTheLimitIsTooLargeWhenDeclared() {
    String huge = "x".repeat(70 * 1024);
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"pad\":\"" + huge + "\""))
        .exchange()
        .expectStatus()
        .isEqualTo(413)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("payload_too_large");
    assertNothingReservedOrForwarded();
  }

  @Test
  void chunkedBodyOverTheLimitIsCutWhileReading() {
    DefaultDataBufferFactory buffers = DefaultDataBufferFactory.sharedInstance;
    byte[] piece = "x".repeat(8 * 1024).getBytes(StandardCharsets.UTF_8);
    Flux<DataBuffer> body =
        Flux.concat(
            Flux.just(buffers.wrap("{\"pad\":\"".getBytes(StandardCharsets.UTF_8))),
            Flux.range(0, 64).map(i -> buffers.wrap(piece)));
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .contentType(MediaType.APPLICATION_JSON)
        .body(body, DataBuffer.class)
        .exchange()
        .expectStatus()
        .isEqualTo(413)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("payload_too_large");
    assertNothingReservedOrForwarded();
  }

  @Test
  void largeBodyUnderTheLimitIsCountedAndForwarded() {
    String big = "lorem ipsum ".repeat(1500);
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4,"
                + "\"metadata\":{\"note\":\""
                + big
                + "\"}}")
        .exchange()
        .expectStatus()
        .isOk();
    assertThat(VLLM.lastRequest().json().path("metadata").path("note").stringValue())
        .isEqualTo(big);
    awaitAllSettled();
  }

  @Test
  void rejectionIs429WithRetryHeadersAndNothingForwarded() {
    Quota quota = new Quota(LimitType.HOUR, 10_000, 12, 1_500, 5, 1);

    rejectedBy(new Admission.Rejected(LimitType.HOUR, 90_500, quota))
        .expectHeader()
        .valueEquals("Retry-After", "91")
        .expectHeader()
        .valueEquals("retry-after-ms", "90500")
        .expectHeader()
        .valueEquals("x-should-retry", "false")
        .expectHeader()
        .valueEquals("x-ratelimit-limit-tokens", "10000")
        .expectHeader()
        .valueEquals("x-ratelimit-remaining-tokens", "12")
        .expectHeader()
        .valueEquals("x-ratelimit-reset-tokens", "1.5s")
        .expectHeader()
        .valueEquals("x-ratelimit-limit-requests", "5")
        .expectHeader()
        .valueEquals("x-ratelimit-remaining-requests", "4")
        .expectBody()
        .json(
            """
            {"error":"rate_limit_exceeded","message":"Token usage limit exceeded",
             "retry_after":91,"limit_type":"hour","scope":"user"}
            """,
            JsonCompareMode.STRICT);
    assertThat(VLLM.generationRequests()).isEmpty();
    assertThat(store.settles()).isEmpty();
  }

  @Test
  void aSpentMonthSaysNotToRetryEvenWhenItsResetIsNear() {
    Quota quota = new Quota(LimitType.MONTH, 10_000, 0, 30_000, 5, 0);

    rejectedBy(new Admission.Rejected(LimitType.MONTH, 30_000, quota))
        .expectHeader()
        .valueEquals("Retry-After", "30")
        .expectHeader()
        .valueEquals("x-should-retry", "false")
        .expectBody()
        .jsonPath("$.limit_type")
        .isEqualTo("month");
  }

  @Test
  void theModelsCapacityIsNobodysOwnLimitSoItsRejectionNamesNoScope() {
    Quota quota = new Quota(LimitType.MINUTE, 10_000, 0, 60_000, 5, 0);

    rejectedBy(new Admission.Rejected(LimitType.CAPACITY, 1_500, quota))
        .expectHeader()
        .doesNotExist("x-should-retry")
        .expectBody()
        .json(
            """
            {"error":"rate_limit_exceeded","message":"Token usage limit exceeded",
             "retry_after":2,"limit_type":"capacity"}
            """,
            JsonCompareMode.STRICT);
  }

  /** A chat request that the store rejects with {@code rejection}: its 429. */
  private WebTestClient.ResponseSpec rejectedBy(Admission.Rejected rejection) {
    store.reject(rejection);
    return client
        .post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":100"))
        .exchange()
        .expectStatus()
        .isEqualTo(429);
  }

  @Test
  void shortWaitIsWorthRetryingAndRoundsUpToASecond() {
    Quota quota = new Quota(LimitType.MINUTE, 1000, 0, 200, 5, 5);
    store.reject(new Admission.Rejected(LimitType.CONCURRENT, 200, quota));

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isEqualTo(429)
        .expectHeader()
        .valueEquals("Retry-After", "1")
        .expectHeader()
        .valueEquals("retry-after-ms", "200")
        .expectHeader()
        .doesNotExist("x-should-retry")
        .expectHeader()
        .valueEquals("x-ratelimit-reset-tokens", "200ms")
        .expectHeader()
        .valueEquals("x-ratelimit-remaining-requests", "0")
        .expectBody()
        .jsonPath("$.retry_after")
        .isEqualTo(1)
        .jsonPath("$.limit_type")
        .isEqualTo("concurrent");
  }

  @Test
  void requestThatCanNeverFitIsTooLargeNotRateLimited() {
    // The store's own verdict (a tier's limit, say), past the limiter's check of the defaults.
    store.tooLarge(new Admission.TooLarge(LimitType.MINUTE, 1000, 1500));

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":20"))
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("request_too_large")
        .jsonPath("$.message")
        .isEqualTo("This request needs 1500 tokens but the minute limit is 1000");
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void unavailableStoreIs503LimiterUnavailable() {
    store.fail(new StoreUnavailableException("redis down", new RuntimeException("boom")));

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isEqualTo(503)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("limiter_unavailable")
        .jsonPath("$.message")
        .exists();
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void aFullMemoryStoreIs503LimiterUnavailableSayingWhy() {
    store.fail(new StoreFullException("Too many users are tracked by this limiter (3)"));

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isEqualTo(503)
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("limiter_unavailable")
        .jsonPath("$.message")
        .isEqualTo("Too many users are tracked by this limiter (3)");
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void unexpectedLimiterErrorIsAJson500WithoutDetails() {
    store.fail(new IllegalStateException("secret internals"));

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isEqualTo(500)
        .expectBody()
        .json("{\"error\":\"internal_error\",\"message\":\"An internal error occurred\"}");
  }

  private void assertNothingReservedOrForwarded() {
    assertThat(store.admits()).isEmpty();
    assertThat(VLLM.generationRequests()).isEmpty();
  }
}
