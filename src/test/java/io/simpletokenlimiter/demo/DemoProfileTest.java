package io.simpletokenlimiter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.Llama3TokenizerFixture;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The service with the profile {@code demo}, as {@code ./mvnw spring-boot:run
 * -Dspring-boot.run.profiles=demo} starts it: the README's curl examples answer 200 with the demo
 * label, a stream ends with {@code [DONE]}, {@code /api/v1/usage} moves by exactly the usage the
 * demo reports, and a 429 arrives once the minute is spent. With the Llama 3 fixture the counts are
 * exact; {@link DemoProfileWithoutVocabularyTest} covers the byte bound.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "token.limit.max-tokens-per-minute=" + DemoProfileTest.MINUTE,
      "token.limit.demo.first-token-delay=5ms",
      "token.limit.demo.token-delay=2ms"
    })
@ActiveProfiles("demo")
@Timeout(60)
class DemoProfileTest {

  static final int MINUTE = 1000;
  static final JsonMapper JSON = JsonMapper.builder().build();

  /** The README's first example. */
  static final String README_CHAT =
      """
      {"model":"llama3.2-1b",
       "messages":[{"role":"system","content":"You are a helpful assistant."},
                   {"role":"user","content":"Explain quantum computing in simple terms"}],
       "max_tokens":150,"temperature":0.7}""";

  /** The README's stream example. */
  static final String README_STREAM =
      """
      {"model":"llama3.2-1b","messages":[{"role":"user","content":"Hi"}],"stream":true}""";

  @DynamicPropertySource
  static void vocabulary(DynamicPropertyRegistry registry) {
    Llama3TokenizerFixture.directory()
        .ifPresent(dir -> registry.add("token.limit.tokenizer-path", dir::toString));
  }

  @LocalServerPort int port;
  @Autowired PromptTokenCounter counter;
  @Autowired DemoUpstream demo;
  Http http;
  String user;

  @BeforeEach
  void setUp() {
    http = new Http(port);
    user = "demo-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void theDemoListensOnLoopbackOnItsOwnPortAndTheLimiterPointsAtIt() {
    assertThat(demo.baseUrl()).startsWith("http://127.0.0.1:").doesNotEndWith(":" + port);
  }

  @Test
  void theReadmeChatAnswersWithExactUsageAndUsageMovesByIt() {
    HttpResponse<String> answer = http.post("/api/v1/chat/completions", user, README_CHAT);

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.headers().firstValue(DemoUpstreamConfiguration.HEADER)).contains("true");
    JsonNode body = JSON.readTree(answer.body());
    assertThat(body.path("object").stringValue("")).isEqualTo("chat.completion");
    assertThat(body.path("model").stringValue("")).isEqualTo("llama3.2-1b");
    JsonNode usage = body.path("usage");
    long prompt = counter.countChat(JSON.readTree(README_CHAT)).totalTokens();
    if (counter.exact()) {
      // Hugging Face's count for this chat (chat-reference.jsonl): what vLLM would report.
      assertThat(prompt).isEqualTo(48);
    }
    assertThat(usage.path("prompt_tokens").longValue()).isEqualTo(prompt);
    String content = body.path("choices").path(0).path("message").path("content").stringValue("");
    assertThat(usage.path("completion_tokens").longValue())
        .isEqualTo(CannedAnswers.tokens(content).size())
        .isBetween(1L, 150L);
    assertThat(usage.path("total_tokens").longValue())
        .isEqualTo(prompt + usage.path("completion_tokens").longValue());
    assertThat(minute(user)).isEqualTo(usage.path("total_tokens").longValue());
  }

  @Test
  void theReadmeStreamEndsWithDoneAndIsChargedWhatItSent() {
    HttpResponse<String> answer = http.post("/v1/chat/completions", user, README_STREAM);

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.headers().firstValue("content-type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("text/event-stream"));
    assertThat(answer.headers().firstValue(DemoUpstreamConfiguration.HEADER)).contains("true");
    List<JsonNode> chunks = chunks(answer.body());
    assertThat(answer.body().strip()).endsWith("data: [DONE]");
    assertThat(chunks)
        .allSatisfy(
            c -> assertThat(c.path("object").stringValue("")).isEqualTo("chat.completion.chunk"))
        .noneSatisfy(c -> assertThat(c.has("usage")).isTrue());
    long completion =
        chunks.stream()
            .filter(
                c ->
                    !c.path("choices")
                        .path(0)
                        .path("delta")
                        .path("content")
                        .stringValue("")
                        .isEmpty())
            .count();
    long prompt = counter.countChat(JSON.readTree(README_STREAM)).totalTokens();
    assertThat(completion).isPositive();
    assertThat(minute(user)).isEqualTo(prompt + completion);
  }

  @Test
  void aStreamAskingForUsageGetsVllmsUsageChunkAndIsChargedExactlyThat() {
    String body =
        """
        {"model":"llama3.2-1b","messages":[{"role":"user","content":"How do limits work?"}],
         "stream":true,"max_tokens":20,"stream_options":{"include_usage":true}}""";

    HttpResponse<String> answer = http.post("/api/v1/chat/completions", user, body);

    assertThat(answer.statusCode()).isEqualTo(200);
    List<JsonNode> chunks = chunks(answer.body());
    JsonNode usage = chunks.get(chunks.size() - 1).path("usage");
    assertThat(usage.path("completion_tokens").longValue()).isEqualTo(20);
    assertThat(
            chunks
                .get(chunks.size() - 2)
                .path("choices")
                .path(0)
                .path("finish_reason")
                .stringValue(""))
        .isEqualTo("length");
    assertThat(minute(user)).isEqualTo(usage.path("total_tokens").longValue());
  }

  @Test
  void legacyCompletionsAnswerInVllmsShape() {
    HttpResponse<String> answer =
        http.post(
            "/v1/completions",
            user,
            "{\"model\":\"llama3.2-1b\",\"prompt\":\"Once upon a time\",\"max_tokens\":5}");

    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(answer.body());
    assertThat(body.path("object").stringValue("")).isEqualTo("text_completion");
    assertThat(CannedAnswers.tokens(body.path("choices").path(0).path("text").stringValue("")))
        .hasSize(5);
    assertThat(body.path("usage").path("completion_tokens").longValue()).isEqualTo(5);
    assertThat(minute(user)).isEqualTo(body.path("usage").path("total_tokens").longValue());
  }

  @Test
  void theOtherReadmeExamplesAnswer200() {
    http.post("/api/v1/chat/completions", user, README_CHAT);

    for (String path : List.of("/api/v1/usage/" + user, "/api/v1/health", "/v1/models")) {
      HttpResponse<String> answer = http.get(path, user);
      assertThat(answer.statusCode()).as(path).isEqualTo(200);
      assertThat(answer.headers().firstValue(DemoUpstreamConfiguration.HEADER)).contains("true");
    }
    assertThat(
            JSON.readTree(http.get("/api/v1/health", user).body()).path("status").stringValue(""))
        .isEqualTo("healthy");
    if (counter.exact()) {
      HttpResponse<String> tokenized =
          http.post("/tokenize", user, "{\"model\":\"llama3.2-1b\",\"prompt\":\"Hello world\"}");
      assertThat(tokenized.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(tokenized.body()).path("count").intValue()).isEqualTo(3);
    }
  }

  @Test
  void aSpentMinuteGives429() {
    HttpResponse<String> answer = null;
    for (int i = 0; i < 20; i++) {
      answer = http.post("/api/v1/chat/completions", user, README_CHAT);
      if (answer.statusCode() != 200) {
        break;
      }
    }

    assertThat(answer.statusCode()).isEqualTo(429);
    assertThat(answer.headers().firstValue(DemoUpstreamConfiguration.HEADER)).contains("true");
    JsonNode body = JSON.readTree(answer.body());
    assertThat(body.path("error").stringValue("")).isEqualTo("rate_limit_exceeded");
    assertThat(body.path("limit_type").stringValue("")).isEqualTo("minute");
    assertThat(minute(user)).isLessThanOrEqualTo(MINUTE);
  }

  private long minute(String user) {
    return JSON.readTree(http.get("/api/v1/usage/" + user, user).body()).path("minute").longValue();
  }

  static List<JsonNode> chunks(String sse) {
    return Arrays.stream(sse.split("\n\n"))
        .map(String::strip)
        .filter(event -> event.startsWith("data: {"))
        .map(event -> JSON.readTree(event.substring("data: ".length())))
        .toList();
  }

  /**
   * curl, in Java: like each curl command of the README, each request on a connection of its own,
   * over HTTP/1.1.
   */
  record Http(int port) {

    HttpResponse<String> post(String path, String user, String json) {
      return send(
          request(path, user)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(json))
              .build());
    }

    HttpResponse<String> get(String path, String user) {
      return send(request(path, user).GET().build());
    }

    private HttpRequest.Builder request(String path, String user) {
      return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(30))
          .header("X-User-ID", user);
    }

    private HttpResponse<String> send(HttpRequest request) {
      try {
        HttpClient client =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
