package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.http.MediaType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ChatCompletionsTest extends ProxyIntegrationTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  @ParameterizedTest
  @ValueSource(strings = {"/api/v1/chat/completions", "/v1/chat/completions"})
  void answersWithVllmCompletionUnderThePublicModelName(String path) {
    VLLM.answerTokens(7).promptTokens(25);

    byte[] body =
        client
            .post()
            .uri(path)
            .header("X-User-ID", USER)
            .contentType(MediaType.APPLICATION_JSON)
            .bodyValue(chatBody("\"temperature\":0.7,\"max_tokens\":150"))
            .exchange()
            .expectStatus()
            .isOk()
            .expectHeader()
            .valueEquals("x-ratelimit-limit-tokens", "1000")
            .expectHeader()
            .valueEquals("x-ratelimit-remaining-tokens", "400")
            .expectHeader()
            .valueEquals("x-ratelimit-reset-tokens", "6m0s")
            .expectHeader()
            .valueEquals("x-ratelimit-limit-requests", "5")
            .expectHeader()
            .valueEquals("x-ratelimit-remaining-requests", "3")
            .expectBody()
            .returnResult()
            .getResponseBody();

    JsonNode answer = JSON.readTree(body);
    assertThat(answer.path("object").stringValue()).isEqualTo("chat.completion");
    assertThat(answer.path("id").stringValue()).startsWith("chatcmpl-");
    assertThat(answer.path("model").stringValue()).isEqualTo(PUBLIC_MODEL);
    assertThat(answer.path("choices").get(0).path("message").path("content").stringValue())
        .startsWith("tok1 ");
    assertThat(answer.path("usage").path("prompt_tokens").intValue()).isEqualTo(25);
    assertThat(answer.path("usage").path("completion_tokens").intValue()).isEqualTo(7);
    assertThat(answer.path("usage").path("total_tokens").intValue()).isEqualTo(32);
    awaitAllSettled();
    assertThat(store.settles()).singleElement().extracting(s -> s.chargedTokens()).isEqualTo(32L);
    assertThat(store.admits())
        .singleElement()
        .satisfies(
            admit -> {
              assertThat(admit.userId()).isEqualTo(USER);
              assertThat(admit.request().minCompletionPerChoice()).isEqualTo(150);
              assertThat(admit.request().maxCompletionPerChoice()).isEqualTo(150);
            });
  }

  @Test
  void forwardsUnknownFieldsUntouchedAndTheUpstreamModelName() {
    client
        .post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(
            chatBody(
                "\"max_tokens\":5,\"top_k\":40,\"seed\":7,"
                    + "\"response_format\":{\"type\":\"json_object\"},"
                    + "\"vendor_x\":[1,{\"a\":null}]"))
        .exchange()
        .expectStatus()
        .isOk();

    JsonNode sent = VLLM.lastRequest().json();
    assertThat(sent.path("model").stringValue()).isEqualTo(FakeVllm.MODEL);
    assertThat(sent.path("max_tokens").intValue()).isEqualTo(5);
    assertThat(sent.path("top_k").intValue()).isEqualTo(40);
    assertThat(sent.path("seed").intValue()).isEqualTo(7);
    assertThat(sent.path("response_format").toString()).isEqualTo("{\"type\":\"json_object\"}");
    assertThat(sent.path("vendor_x").toString()).isEqualTo("[1,{\"a\":null}]");
    assertThat(sent.path("messages").toString())
        .isEqualTo("[{\"role\":\"user\",\"content\":\"Hello there\"}]");
    assertThat(sent.has("stream_options")).isFalse();
    awaitAllSettled();
  }

  @Test
  void setsMaxTokensToTheGrantedBudgetWhenTheClientGaveNone() {
    store.grant(42);

    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"n\":2"))
        .exchange()
        .expectStatus()
        .isOk();

    assertThat(VLLM.lastRequest().json().path("max_tokens").intValue()).isEqualTo(42);
    ReservationRequest asked = store.admits().get(0).request();
    long prompt = asked.promptTokens();
    assertThat(asked.choices()).isEqualTo(2);
    assertThat(asked.minCompletionPerChoice()).isEqualTo(16);
    assertThat(asked.maxCompletionPerChoice()).isEqualTo(2048 - prompt);
    awaitAllSettled();
  }

  @Test
  void bestOfSequencesAreAllReserved() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":10,\"n\":2,\"best_of\":5"))
        .exchange()
        .expectStatus()
        .isOk();

    assertThat(store.admits().get(0).request().choices()).isEqualTo(5);
  }

  @Test
  void legacyCompletionsObeyMaxTokensOnlyAsVllmDoes() {
    client
        .post()
        .uri("/v1/completions")
        .header("X-User-ID", USER)
        .bodyValue("{\"prompt\":\"hi\",\"max_completion_tokens\":1,\"max_tokens\":40}")
        .exchange()
        .expectStatus()
        .isOk();
    client
        .post()
        .uri("/v1/completions")
        .header("X-User-ID", USER)
        .bodyValue("{\"prompt\":\"hi\",\"max_completion_tokens\":1}")
        .exchange()
        .expectStatus()
        .isOk();

    assertThat(store.admits().get(0).request().maxCompletionPerChoice()).isEqualTo(40);
    assertThat(store.admits().get(1).request().maxCompletionPerChoice()).isEqualTo(16);
    List<RecordedRequest> sent = VLLM.generationRequests();
    assertThat(sent.get(0).json().path("max_tokens").intValue()).isEqualTo(40);
    assertThat(sent.get(1).json().path("max_tokens").intValue()).isEqualTo(16);
    assertThat(sent).allSatisfy(r -> assertThat(r.json().has("max_completion_tokens")).isFalse());
    awaitAllSettled();
  }

  @Test
  void maxCompletionTokensIsTheBudgetAndVllmGetsItInBothFields() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_completion_tokens\":9,\"n\":3"))
        .exchange()
        .expectStatus()
        .isOk();

    ReservationRequest asked = store.admits().get(0).request();
    assertThat(asked.choices()).isEqualTo(3);
    assertThat(asked.maxCompletionPerChoice()).isEqualTo(9);
    assertThat(asked.minCompletionPerChoice()).isEqualTo(9);
    JsonNode sent = VLLM.lastRequest().json();
    assertThat(sent.path("max_completion_tokens").intValue()).isEqualTo(9);
    assertThat(sent.path("max_tokens").intValue()).isEqualTo(9);
    awaitAllSettled();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\"model\":\"meta-llama/Llama-3.2-1B-Instruct\","})
  void acceptsTheUpstreamModelNameOrNone(String model) {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue("{" + model + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
        .exchange()
        .expectStatus()
        .isOk()
        .expectBody()
        .jsonPath("$.model")
        .isEqualTo(PUBLIC_MODEL);

    assertThat(VLLM.lastRequest().json().path("model").stringValue()).isEqualTo(FakeVllm.MODEL);
    awaitAllSettled();
  }

  @Test
  void unknownModelIsNotFoundAndNeverReservedOrForwarded() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
        .exchange()
        .expectStatus()
        .isNotFound()
        .expectBody()
        .json("{\"error\":\"model_not_found\",\"message\":\"The model `gpt-4o` does not exist.\"}");

    assertThat(store.admits()).isEmpty();
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void legacyCompletionsReserveOneChoicePerPromptAndMapTheModel() {
    byte[] body =
        client
            .post()
            .uri("/api/v1/completions")
            .header("X-User-ID", USER)
            .bodyValue(
                "{\"model\":\"llama3.2-1b\",\"prompt\":[\"Once upon\",\"A time\"],"
                    + "\"n\":2,\"max_tokens\":4}")
            .exchange()
            .expectStatus()
            .isOk()
            .expectBody()
            .returnResult()
            .getResponseBody();

    JsonNode answer = JSON.readTree(body);
    assertThat(answer.path("object").stringValue()).isEqualTo("text_completion");
    assertThat(answer.path("model").stringValue()).isEqualTo(PUBLIC_MODEL);
    assertThat(answer.path("choices")).hasSize(4);
    ReservationRequest asked = store.admits().get(0).request();
    assertThat(asked.choices()).isEqualTo(4);
    assertThat(asked.maxCompletionPerChoice()).isEqualTo(4);
    awaitAllSettled();
    long usage = answer.path("usage").path("total_tokens").longValue();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(usage);
  }

  @Test
  void promptLongerThanTheContextIsTooLargeWithoutReservation() {
    String longText = "word ".repeat(2100);
    client
        .post()
        .uri("/v1/completions")
        .header("X-User-ID", USER)
        .bodyValue("{\"prompt\":\"" + longText + "\"}")
        .exchange()
        .expectStatus()
        .isBadRequest()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("request_too_large")
        .jsonPath("$.message")
        .value(message -> assertThat((String) message).contains("2048").contains("tokens"));

    assertThat(store.admits()).isEmpty();
    assertThat(VLLM.generationRequests()).isEmpty();
  }

  @Test
  void recordedRequestShowsWhatReachedTheUpstream() {
    client
        .post()
        .uri("/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody("\"max_tokens\":3"))
        .exchange()
        .expectStatus()
        .isOk();

    RecordedRequest sent = VLLM.lastRequest();
    assertThat(sent.path()).isEqualTo("/v1/chat/completions");
    assertThat(sent.header("content-type")).startsWith("application/json");
    assertThat(sent.completed()).isTrue();
    assertThat(sent.cancelled()).isFalse();
    awaitAllSettled();
  }
}
