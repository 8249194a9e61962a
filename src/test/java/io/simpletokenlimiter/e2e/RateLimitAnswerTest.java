package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.simpletokenlimiter.e2e.ApiClient.Answer;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3.4 as a client sees it: the 429 body, {@code retry_after} computed from the buckets and
 * the same in every header, {@code x-should-retry: false} for long waits, {@code x-ratelimit-*} on
 * every answer, and the official OpenAI Java SDK reading all of it.
 */
class RateLimitAnswerTest extends MemoryReplicaTest {

  private static final Pattern GO_DURATION =
      Pattern.compile("^(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:(\\d+(?:\\.\\d+)?)(s|ms))?$");

  @Test
  void anExhaustedMinuteSaysWhenTheSameRequestFitsAgain() {
    String user = newUser("minute");
    VLLM.answerTokens(1_000);
    long before = System.currentTimeMillis();
    Answer spend =
        api.chat(user, ChatRequest.of(leaving(5, MINUTE_LIMIT), user + "-1").json()).block();
    long after = System.currentTimeMillis();
    assertThat(spend.status()).isEqualTo(200);
    ApiClient.Usage used = api.usage(user);

    long rejectBefore = System.currentTimeMillis();
    Answer rejected = api.chat(user, ChatRequest.of(20, user + "-2").json()).block();
    long rejectAfter = System.currentTimeMillis();

    assertThat(rejected.status()).isEqualTo(429);
    long retryAfter = rejected.json().path("retry_after").longValue();
    assertThat(rejected.json())
        .isEqualTo(
            ApiClient.JSON.readTree(
                """
                {"error":"rate_limit_exceeded","message":"Token usage limit exceeded",
                 "retry_after":%d,"limit_type":"minute","scope":"user"}
                """
                    .formatted(retryAfter)));
    assertWaitHeadersAgree(rejected, retryAfter);
    // The tokens were charged into the 1-second bucket of the moment they were served; it is
    // counted until its whole second has left the minute: 60 to 61 s after it was charged.
    long retryAfterMillis = Long.parseLong(rejected.header("retry-after-ms"));
    assertThat(retryAfterMillis)
        .isGreaterThan(before + 60_000 - rejectAfter)
        .isLessThanOrEqualTo(after + 61_000 - rejectBefore);
    assertThat(rejected.header("x-ratelimit-limit-tokens")).isEqualTo("1000");
    assertThat(rejected.header("x-ratelimit-remaining-tokens")).isEqualTo("5");
    assertThat(goDurationMillis(rejected.header("x-ratelimit-reset-tokens")))
        .isBetween(1L, 61_000L);
    // A rejected request changes no counter and never reaches vLLM.
    assertThat(api.usage(user)).isEqualTo(used);
    assertThat(VLLM.generationRequests()).extracting(TokenRace::tagOf).doesNotContain(user + "-2");
  }

  @Test
  void anExhaustedHourTellsSdksNotToRetry() {
    assertLongWait(HOUR_CAPPED, "hour", 60, 3_660);
  }

  @Test
  void anExhaustedDayTellsSdksNotToRetry() {
    assertLongWait(DAY_CAPPED, "day", 3_600, 87_300);
  }

  @Test
  void answersAndStreamsCarryTheRateLimitHeadersOfTheirAdmission() {
    String user = newUser("headers");

    Answer first = api.chat(user, ChatRequest.of(100, user + "-1").json()).block();

    assertThat(first.status()).isEqualTo(200);
    assertThat(first.header("x-ratelimit-limit-tokens")).isEqualTo("1000");
    // Decided at admission: the reservation (prompt + max_tokens) is taken from the room.
    assertThat(first.header("x-ratelimit-remaining-tokens"))
        .isEqualTo(Long.toString(MINUTE_LIMIT - prompt - 100));
    // Nothing settled yet: only the reservation in flight, which settles soon.
    assertThat(goDurationMillis(first.header("x-ratelimit-reset-tokens"))).isZero();
    assertThat(first.header("x-ratelimit-limit-requests")).isEqualTo("2");
    assertThat(first.header("x-ratelimit-remaining-requests")).isEqualTo("1");
    long served = first.json().path("usage").path("total_tokens").longValue();

    Answer stream = api.chat(user, ChatRequest.of(50, user + "-2").streamed().json()).block();

    assertThat(stream.status()).isEqualTo(200);
    assertThat(stream.header("Content-Type")).startsWith("text/event-stream");
    assertThat(stream.body()).endsWith("data: [DONE]\n\n");
    assertThat(stream.header("x-ratelimit-limit-tokens")).isEqualTo("1000");
    assertThat(stream.header("x-ratelimit-remaining-tokens"))
        .isEqualTo(Long.toString(MINUTE_LIMIT - served - prompt - 50));
    assertThat(stream.header("x-ratelimit-remaining-requests")).isEqualTo("1");
    assertThat(goDurationMillis(stream.header("x-ratelimit-reset-tokens"))).isBetween(1L, 61_000L);
  }

  @Test
  void theOpenAiSdkRaisesRateLimitExceptionWithTheWait() {
    String user = newUser("sdk");
    VLLM.answerTokens(1_000);
    assertThat(
            api.chat(user, ChatRequest.of(leaving(5, MINUTE_LIMIT), user).json()).block().status())
        .isEqualTo(200);

    assertThatThrownBy(() -> sdk(user, 0).chat().completions().create(chat(20)))
        .isInstanceOfSatisfying(
            RateLimitException.class,
            error -> {
              assertThat(error.statusCode()).isEqualTo(429);
              long seconds = Long.parseLong(error.headers().values("retry-after").get(0));
              long millis = Long.parseLong(error.headers().values("retry-after-ms").get(0));
              assertThat(seconds).isBetween(1L, 61L).isEqualTo(wholeSeconds(millis));
              assertThat(error.headers().values("x-ratelimit-remaining-tokens"))
                  .containsExactly("5");
            });
  }

  @Test
  void theOpenAiSdkDoesNotRetryWhenTheHourIsSpent() {
    VLLM.answerTokens(1_000);
    assertThat(
            api.chat(
                    HOUR_CAPPED_SDK,
                    ChatRequest.of(leaving(5, CAPPED_LIMIT), HOUR_CAPPED_SDK).json())
                .block()
                .status())
        .isEqualTo(200);
    double rejectedBefore = rejectedByTheHour();

    // Two retries allowed, as the SDK's default; x-should-retry: false forbids them.
    assertThatThrownBy(() -> sdk(HOUR_CAPPED_SDK, 2).chat().completions().create(chat(20)))
        .isInstanceOfSatisfying(
            RateLimitException.class,
            error -> assertThat(error.headers().values("x-should-retry")).containsExactly("false"));

    assertThat(rejectedByTheHour()).isEqualTo(rejectedBefore + 1);
  }

  /** Spends the capped window down to 5 tokens, then checks the 429 of a request of 20. */
  private void assertLongWait(String user, String window, long longerThan, long atMost) {
    VLLM.answerTokens(1_000);
    Answer spend =
        api.chat(user, ChatRequest.of(leaving(5, CAPPED_LIMIT), user + "-1").json()).block();
    assertThat(spend.status()).isEqualTo(200);

    Answer rejected = api.chat(user, ChatRequest.of(20, user + "-2").json()).block();

    assertThat(rejected.status()).isEqualTo(429);
    assertThat(rejected.json().path("limit_type").stringValue("")).isEqualTo(window);
    long retryAfter = rejected.json().path("retry_after").longValue();
    assertThat(retryAfter).isGreaterThan(longerThan).isLessThanOrEqualTo(atMost);
    assertWaitHeadersAgree(rejected, retryAfter);
    assertThat(rejected.header("x-should-retry")).isEqualTo("false");
    assertThat(rejected.header("x-ratelimit-limit-tokens")).isEqualTo(Long.toString(CAPPED_LIMIT));
    assertThat(rejected.header("x-ratelimit-remaining-tokens")).isEqualTo("5");
  }

  /** {@code retry_after}, {@code Retry-After} and {@code retry-after-ms} tell the same wait. */
  private static void assertWaitHeadersAgree(Answer rejected, long retryAfter) {
    assertThat(retryAfter).isPositive();
    assertThat(rejected.header("Retry-After")).isEqualTo(Long.toString(retryAfter));
    long millis = Long.parseLong(rejected.header("retry-after-ms"));
    assertThat(wholeSeconds(millis)).isEqualTo(retryAfter);
    // openai SDKs honour waits of up to 60 s; past that, they are told not to retry at all.
    assertThat(rejected.header("x-should-retry")).isEqualTo(retryAfter > 60 ? "false" : "");
  }

  private static long wholeSeconds(long millis) {
    return (millis + 999) / 1000;
  }

  /** The max_tokens that leaves {@code left} tokens of {@code limit} once served. */
  private int leaving(long left, long limit) {
    return Math.toIntExact(limit - left - prompt);
  }

  private OpenAIClient sdk(String user, int maxRetries) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(api.baseUrl() + "/v1")
        .apiKey("not-used")
        .putHeader("X-User-ID", user)
        .maxRetries(maxRetries)
        .timeout(Duration.ofSeconds(20))
        .build();
  }

  private static ChatCompletionCreateParams chat(int maxTokens) {
    return ChatCompletionCreateParams.builder()
        .model("llama3.2-1b")
        .addSystemMessage("You are a helpful assistant.")
        .addUserMessage("Explain quantum computing in simple terms")
        .maxCompletionTokens(maxTokens)
        .build();
  }

  private double rejectedByTheHour() {
    Matcher metric =
        Pattern.compile("(?m)^rate_limit_exceeded_total\\{[^}]*limit_type=\"hour\"[^}]*} (\\S+)$")
            .matcher(api.get("/actuator/prometheus"));
    return metric.find() ? Double.parseDouble(metric.group(1)) : 0;
  }

  /** Parses OpenAI's reset format ({@code 6m0s}, {@code 1.5s}, {@code 20ms}) into millis. */
  private static long goDurationMillis(String text) {
    Matcher parts = GO_DURATION.matcher(text);
    assertThat(parts.matches()).as("Go-style duration: %s", text).isTrue();
    assertThat(text).isNotEmpty();
    double millis = 0;
    if (parts.group(1) != null) {
      millis += Long.parseLong(parts.group(1)) * 3_600_000.0;
    }
    if (parts.group(2) != null) {
      millis += Long.parseLong(parts.group(2)) * 60_000.0;
    }
    if (parts.group(3) != null) {
      millis += Double.parseDouble(parts.group(3)) * (parts.group(4).equals("s") ? 1_000 : 1);
    }
    return Math.round(millis);
  }
}
