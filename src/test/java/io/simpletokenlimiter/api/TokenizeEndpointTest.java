package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.simpletokenlimiter.testing.Llama3TokenizerFixture;
import io.simpletokenlimiter.testing.LocalClient;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/** {@code /tokenize} and {@code /detokenize} answered by the limiter's own Llama 3 tokenizer. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Timeout(30)
class TokenizeEndpointTest {

  static final FakeVllm VLLM = FakeVllm.start();

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("token.limit.vllm-url", VLLM::baseUrl);
    Llama3TokenizerFixture.directory()
        .ifPresent(dir -> registry.add("token.limit.tokenizer-path", dir::toString));
  }

  @BeforeAll
  static void requireVocabulary() {
    assumeTrue(Llama3TokenizerFixture.directory().isPresent(), Llama3TokenizerFixture.MISSING);
  }

  @LocalServerPort int port;
  WebTestClient client;

  @BeforeEach
  void setUp() {
    VLLM.reset();
    client = LocalClient.to(port);
  }

  @Test
  void countsAChatExactlyAsVllmWould() {
    // 48 is Hugging Face's count for this chat (chat-reference.jsonl, first line).
    post(
            "/tokenize",
            """
            {"model":"llama3.2-1b","messages":[
              {"role":"system","content":"You are a helpful assistant."},
              {"role":"user","content":"Explain quantum computing in simple terms"}]}
            """)
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.count")
        .isEqualTo(48)
        .jsonPath("$.max_model_len")
        .isEqualTo(2048)
        .jsonPath("$.tokens.length()")
        .isEqualTo(48)
        .jsonPath("$.tokens[0]")
        .isEqualTo(128000);
    assertThat(VLLM.requests()).isEmpty();
  }

  @Test
  void tokenizesAPromptWithTheBeginningOfTextToken() {
    post("/tokenize", "{\"model\":\"llama3.2-1b\",\"prompt\":\"Hello world\"}")
        .expectStatus()
        .isOk()
        .expectBody()
        .json("{\"count\":3,\"tokens\":[128000,9906,1917]}");
  }

  @Test
  void actuatorInfoSaysCountingIsExact() {
    client
        .get()
        .uri("/actuator/info")
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.promptCounting")
        .isEqualTo("exact");
  }

  @Test
  void detokenizesIds() {
    post("/detokenize", "{\"model\":\"llama3.2-1b\",\"tokens\":[9906,1917]}")
        .expectStatus()
        .isOk()
        .expectBody()
        .json("{\"prompt\":\"Hello world\"}");
  }

  @Test
  void forwardsToVllmWhatItCannotCountExactly() {
    post(
            "/tokenize",
            """
            {"model":"llama3.2-1b","messages":[{"role":"user","content":"weather?"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}]}
            """)
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.count")
        .isNumber();
    assertThat(VLLM.requests())
        .singleElement()
        .satisfies(
            forwarded -> {
              assertThat(forwarded.path()).isEqualTo("/tokenize");
              assertThat(forwarded.json().path("model").asString())
                  .isEqualTo("meta-llama/Llama-3.2-1B-Instruct");
            });
  }

  @Test
  void badRequestsGetClearErrors() {
    post("/tokenize", "{not json")
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_request");
    post("/tokenize", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}")
        .expectStatus()
        .isNotFound()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("model_not_found");
    post("/tokenize", "{\"prompt\":42}").expectStatus().isBadRequest();
    post("/detokenize", "{\"tokens\":[999999999]}")
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("invalid_request");
  }

  private WebTestClient.ResponseSpec post(String path, String body) {
    return client
        .post()
        .uri(path)
        .contentType(MediaType.APPLICATION_JSON)
        .bodyValue(body)
        .exchange();
  }
}
