package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.simpletokenlimiter.testing.Llama3TokenizerFixture;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;

/**
 * Hostile counting work (finding 2): large prompts neither delay small requests nor run unbounded.
 * With the real Llama 3 vocabulary, since exact counting is where the CPU goes.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(90)
class FairCountingTest {

  static final FakeVllm VLLM = FakeVllm.start();

  /** One pre-tokenizer piece: its bytes do not prove it too long, so it is encoded (~1 s). */
  static final String COSTLY_PROMPT = "a".repeat(150_000);

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    // One counting thread leaves the other core of a small machine to the event loop.
    registry.add("token.limit.counting.threads", () -> "1");
    registry.add("token.limit.counting.per-caller", () -> "2");
    Llama3TokenizerFixture.directory()
        .ifPresent(dir -> registry.add("token.limit.tokenizer-path", dir::toString));
  }

  @BeforeAll
  static void requireVocabulary() {
    assumeTrue(Llama3TokenizerFixture.directory().isPresent(), Llama3TokenizerFixture.MISSING);
  }

  @LocalServerPort int port;

  @BeforeEach
  void setUp() {
    VLLM.reset();
  }

  @Test
  void aSmallChatIsNotQueuedBehindTenLargeCountingRequests() throws Exception {
    String content = "Tell me about the history of the city and its bridges. ".repeat(30);
    String small =
        "{\"model\":\"llama3.2-1b\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
            + "\"content\":\""
            + content
            + "\"}]}";
    assertThat(small.getBytes(StandardCharsets.UTF_8).length).isBetween(1_700, 2_000);
    // Warm: the first request of a fresh JVM pays for class loading and connections.
    assertThat(
            post("/v1/chat/completions", "warm-up", small).block(Duration.ofSeconds(30)).status())
        .isEqualTo(200);
    String large = "{\"prompt\":\"" + COSTLY_PROMPT + "\"}";
    List<Mono<Answer>> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      // Ten callers, so that no per-caller bound turns them away: they all queue for the CPU.
      calls.add(post("/tokenize", "large-" + i, large).cache());
    }
    calls.forEach(Mono::subscribe);
    Thread.sleep(300);
    long sent = System.nanoTime();
    Answer chat = post("/v1/chat/completions", "small-user", small).block(Duration.ofSeconds(60));
    List<Answer> largeAnswers = Flux.merge(calls).collectList().block(Duration.ofSeconds(80));

    long firstLargeDone = largeAnswers.stream().mapToLong(Answer::doneAt).min().orElseThrow();
    long lastLargeDone = largeAnswers.stream().mapToLong(Answer::doneAt).max().orElseThrow();
    System.out.printf(
        "small chat took %d ms; the large counts ended %d to %d ms after it was sent%n",
        (chat.doneAt() - sent) / 1_000_000,
        (firstLargeDone - sent) / 1_000_000,
        (lastLargeDone - sent) / 1_000_000);
    // Queued behind the large counts (one counting thread here), it would end after all ten; a
    // count running when it arrives may end a moment before it, which says nothing.
    assertThat(chat.doneAt())
        .as("the small chat is not queued behind the large counts")
        .isLessThan(lastLargeDone);
    assertThat(chat.status()).isEqualTo(200);
    assertThat(largeAnswers).extracting(Answer::status).containsOnly(400);
    assertThat(largeAnswers.get(0).body()).contains("request_too_large");
  }

  @Test
  void oneCallerGetsOnlyItsOwnLanesAndThenA429() {
    String large = "{\"prompt\":\"" + COSTLY_PROMPT + "\"}";
    List<Answer> answers =
        Flux.merge(IntStream.range(0, 5).mapToObj(i -> post("/tokenize", null, large)).toList())
            .collectList()
            .block(Duration.ofSeconds(80));
    assertThat(answers).extracting(Answer::status).contains(429);
    assertThat(answers.stream().filter(a -> a.status() == 429).findFirst().orElseThrow().body())
        .contains("counting_busy");
    assertThat(answers.stream().filter(a -> a.status() == 400).count()).isLessThanOrEqualTo(2);
  }

  @Test
  void aCallerTurnedAwayFromCountingIsLoggedAsRejectedNotInvalid() {
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    Logger usageLogger = (Logger) LoggerFactory.getLogger(UsageEvents.LOGGER);
    events.start();
    usageLogger.addAppender(events);
    try {
      String user = "busy-" + UUID.randomUUID();
      String large =
          "{\"model\":\"llama3.2-1b\",\"max_tokens\":5,\"prompt\":\"" + COSTLY_PROMPT + "\"}";
      List<Answer> answers =
          Flux.merge(
                  IntStream.range(0, 5)
                      .mapToObj(i -> post("/v1/completions", user, large))
                      .toList())
              .collectList()
              .block(Duration.ofSeconds(80));
      assertThat(answers).extracting(Answer::status).contains(429);

      // each line is written once its answer has gone out, so a moment after the client has it
      await()
          .atMost(Duration.ofSeconds(5))
          .ignoreExceptions()
          .until(() -> linesOf(events, user).size() >= 5);
      List<String> lines = linesOf(events, user);
      assertThat(lines).hasSize(5);
      assertThat(lines.stream().filter(line -> line.contains("\"status\":429")))
          .hasSize((int) answers.stream().filter(a -> a.status() == 429).count())
          .allMatch(line -> line.contains("\"outcome\":\"rejected\""));
    } finally {
      usageLogger.detachAppender(events);
    }
  }

  private static List<String> linesOf(ListAppender<ILoggingEvent> events, String user) {
    return List.copyOf(events.list).stream()
        .map(ILoggingEvent::getFormattedMessage)
        .filter(line -> line.contains(user))
        .toList();
  }

  @Test
  void aPromptTooLongForTheModelIsRefusedWithoutCountingItAll() {
    String megabyte = "x".repeat(900_000);
    Answer completion =
        post(
                "/v1/completions",
                "big-user",
                "{\"model\":\"llama3.2-1b\",\"max_tokens\":1,\"prompt\":\"" + megabyte + "\"}")
            .block(Duration.ofSeconds(30));
    assertThat(completion.status()).isEqualTo(400);
    assertThat(completion.body()).contains("request_too_large");
    Answer tokenize =
        post("/tokenize", null, "{\"prompt\":\"" + megabyte + "\"}").block(Duration.ofSeconds(30));
    assertThat(tokenize.status()).isEqualTo(400);
    assertThat(tokenize.body()).contains("request_too_large");
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void detokenizeTakesAtMostTheContextsWorthOfIds() {
    String many =
        IntStream.range(0, 150_000).mapToObj(i -> "9906").collect(Collectors.joining(","));
    Answer refused =
        post("/detokenize", null, "{\"tokens\":[" + many + "]}").block(Duration.ofSeconds(30));
    assertThat(refused.status()).isEqualTo(400);
    assertThat(refused.body()).contains("invalid_request").contains("max_model_len");

    String fits = IntStream.range(0, 2_000).mapToObj(i -> "9906").collect(Collectors.joining(","));
    Answer answered =
        post("/detokenize", null, "{\"tokens\":[" + fits + "]}").block(Duration.ofSeconds(30));
    assertThat(answered.status()).isEqualTo(200);
    assertThat(answered.body()).contains("Hello");
  }

  private Mono<Answer> post(String path, String user, String body) {
    return HttpClient.create()
        .headers(
            headers -> {
              headers.set("Content-Type", "application/json");
              if (user != null) {
                headers.set("X-User-ID", user);
              }
            })
        .post()
        .uri("http://localhost:" + port + path)
        .send(ByteBufFlux.fromString(Mono.just(body)))
        .responseSingle(
            (response, content) ->
                content
                    .asString(StandardCharsets.UTF_8)
                    .defaultIfEmpty("")
                    .map(text -> new Answer(response.status().code(), text, System.nanoTime())));
  }

  private record Answer(int status, String body, long doneAt) {}
}
