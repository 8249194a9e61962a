package io.simpletokenlimiter.e2e;

import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * One replica with the in-memory store in front of a {@link FakeVllm}, shared by the test classes
 * that extend this one (started once per JVM, closed when it exits). Every test uses user ids of
 * its own, so the counters of one test never meet another's.
 *
 * <p>Default limits: 1,000 tokens a minute, 10,000 an hour, 100,000 a day, 2 requests in flight.
 * The users {@link #HOUR_CAPPED} and {@link #DAY_CAPPED} have only an hour or a day limit of 400.
 */
@Timeout(60)
abstract class MemoryReplicaTest {

  static final long MINUTE_LIMIT = 1_000;
  static final int MAX_CONCURRENT = 2;
  static final long CAPPED_LIMIT = 400;

  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final String HOUR_CAPPED = "hour-capped-" + RUN;
  static final String HOUR_CAPPED_SDK = "hour-capped-sdk-" + RUN;
  static final String DAY_CAPPED = "day-capped-" + RUN;

  static final FakeVllm VLLM = FakeVllm.start();
  static final Duration FIRST_BYTE_TIMEOUT = Duration.ofSeconds(3);
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(2);

  private static LimiterInstance replica;
  private static long countedPrompt;

  /** The replica, started on first use. */
  static synchronized LimiterInstance replica() {
    if (replica == null) {
      Path overrides =
          LimiterInstance.overridesFile(
              """
              users:
                %s: {max-tokens-per-minute: -1, max-tokens-per-hour: %d}
                %s: {max-tokens-per-minute: -1, max-tokens-per-hour: %d}
                %s: {max-tokens-per-minute: -1, max-tokens-per-hour: -1, max-tokens-per-day: %d}
              """
                  .formatted(
                      HOUR_CAPPED,
                      CAPPED_LIMIT,
                      HOUR_CAPPED_SDK,
                      CAPPED_LIMIT,
                      DAY_CAPPED,
                      CAPPED_LIMIT));
      replica =
          LimiterInstance.start(
              Map.ofEntries(
                  Map.entry("token.limit.vllm-url", VLLM.baseUrl()),
                  Map.entry("token.limit.max-tokens-per-minute", Long.toString(MINUTE_LIMIT)),
                  Map.entry(
                      "token.limit.max-concurrent-requests", Integer.toString(MAX_CONCURRENT)),
                  Map.entry("token.limit.overrides-file", overrides.toString()),
                  Map.entry(
                      "token.limit.upstream.first-byte-timeout",
                      FIRST_BYTE_TIMEOUT.toMillis() + "ms"),
                  Map.entry("token.limit.upstream.idle-timeout", IDLE_TIMEOUT.toMillis() + "ms"),
                  // The failures these tests cause on purpose must not open the breaker.
                  Map.entry("token.limit.upstream.breaker.minimum-number-of-calls", "100000"),
                  Map.entry("token.limit.upstream.breaker.sliding-window-size", "100000")));
      VLLM.reset();
      countedPrompt = PromptProbe.countedPrompt(replica.api(), VLLM, MINUTE_LIMIT);
    }
    return replica;
  }

  ApiClient api;

  /** Prompt tokens the limiter counts for {@link ChatRequest}; the fake reports as many. */
  long prompt;

  @BeforeEach
  void resetFake() {
    api = replica().api();
    prompt = countedPrompt;
    VLLM.up();
    VLLM.reset().promptTokens(Math.toIntExact(prompt)).answerTokens(30);
  }

  static String newUser(String role) {
    return role + "-" + UUID.randomUUID();
  }

  /** Waits, bounded, until the user has nothing in flight, and returns the usage then. */
  ApiClient.Usage settledUsage(String user) {
    return await("no request of " + user + " in flight")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> api.usage(user), usage -> usage.concurrent() == 0);
  }

  /** Waits, bounded, until the fake has received {@code count} requests with {@code tag}s. */
  static void awaitAtFake(String tagPrefix, int count) {
    await("%d requests tagged %s at the fake".formatted(count, tagPrefix))
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                VLLM.generationRequests().stream()
                        .filter(request -> TokenRace.tagOf(request).startsWith(tagPrefix))
                        .count()
                    >= count);
  }
}
