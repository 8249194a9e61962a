package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.simpletokenlimiter.identity.ApiKeyUserIdResolver;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/** API-key mode end to end: the key is the identity, as every OpenAI SDK sends it. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class ApiKeyModeTest {

  static final FakeVllm VLLM = FakeVllm.start();

  static final String ALICE_KEY = "alice-key";

  static final String BOB_KEY = "bob-key";

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    registry.add("token.limit.api-keys-file", ApiKeyModeTest::keysFile);
  }

  private static String keysFile() {
    try {
      Path file = Files.createTempFile("api-keys", ".yml");
      Files.writeString(
          file,
          "keys:\n  %s: alice-k\n  %s: bob-k\n"
              .formatted(ApiKeyUserIdResolver.hash(ALICE_KEY), ApiKeyUserIdResolver.hash(BOB_KEY)));
      file.toFile().deleteOnExit();
      return file.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @LocalServerPort int port;
  WebTestClient client;

  @BeforeEach
  void setUp() {
    VLLM.reset();
    client = LocalClient.to(port);
  }

  @Test
  void anOpenAiSdkIsIdentifiedByItsApiKeyAlone() {
    OpenAIClient sdk =
        OpenAIOkHttpClient.builder()
            .baseUrl("http://localhost:" + port + "/v1")
            .apiKey(ALICE_KEY)
            .maxRetries(0)
            .build();

    ChatCompletion completion =
        sdk.chat()
            .completions()
            .create(
                ChatCompletionCreateParams.builder()
                    .model("llama3.2-1b")
                    .addUserMessage("Hello")
                    .maxCompletionTokens(5)
                    .build());

    assertThat(completion.model()).isEqualTo("llama3.2-1b");
    client
        .get()
        .uri("/api/v1/usage/alice-k")
        .header("Authorization", "Bearer " + ALICE_KEY)
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.minute")
        .value(minute -> assertThat(((Number) minute).longValue()).isPositive());
  }

  @Test
  void xUserIdAloneIsNotEnoughAndAWrongKeyIsRefused() {
    chat(null, "alice-k")
        .expectStatus()
        .isUnauthorized()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("missing_api_key");
    chat("not-a-key", "alice-k")
        .expectStatus()
        .isUnauthorized()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_api_key");
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void twoAuthorizationHeadersAreRefusedEvenWhenBothAreValid() {
    client
        .post()
        .uri("/v1/chat/completions")
        .contentType(MediaType.APPLICATION_JSON)
        .header("Authorization", "Bearer " + ALICE_KEY, "Bearer " + BOB_KEY)
        .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}")
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_api_key");
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void aUserReadsOnlyTheirOwnUsage() {
    client
        .get()
        .uri("/api/v1/usage/alice-k")
        .header("Authorization", "Bearer " + BOB_KEY)
        .exchange()
        .expectStatus()
        .isForbidden();
    client
        .get()
        .uri("/api/v1/usage/bob-k")
        .header("Authorization", "Bearer " + BOB_KEY)
        .exchange()
        .expectStatus()
        .isOk();
  }

  private WebTestClient.ResponseSpec chat(String key, String userHeader) {
    WebTestClient.RequestBodySpec request =
        client
            .post()
            .uri("/v1/chat/completions")
            .contentType(MediaType.APPLICATION_JSON)
            .header("X-User-ID", userHeader);
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return request
        .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}")
        .exchange();
  }
}
