package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The generation requests are served ahead of Spring's dispatcher ({@link GenerationRoutes}): on
 * exactly their four paths, by {@code POST} only, and nothing that merely resembles them.
 */
class GenerationRoutesTest extends ProxyIntegrationTest {

  @ParameterizedTest
  @ValueSource(strings = {"/api/v1/chat/completions", "/v1/chat/completions"})
  void chatIsServedUnderBothPrefixes(String path) {
    answeredChat(path + "?trace=1");
    awaitAllSettled();
    assertThat(store.settles()).singleElement().extracting("chargedTokens").isEqualTo(15L);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/api/v1/completions", "/v1/completions"})
  void completionsAreServedUnderBothPrefixes(String path) {
    VLLM.promptTokens(3).answerTokens(5);
    String body =
        postAsUser(path, "{\"model\":\"llama3.2-1b\",\"prompt\":\"Once\",\"max_tokens\":5}")
            .expectStatus()
            .isOk()
            .expectBody(String.class)
            .returnResult()
            .getResponseBody();
    assertThat(body).contains("\"object\":\"text_completion\"", "\"model\":\"llama3.2-1b\"");
    awaitAllSettled();
    assertThat(store.settles()).singleElement().extracting("chargedTokens").isEqualTo(8L);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/api/v1/chat/completions/",
        "/API/v1/chat/completions",
        "/api/v1/chat/completions/extra",
        "/api/v2/chat/completions",
        "/chat/completions"
      })
  void lookAlikePathsAreNotFoundAndAdmitNothing(String path) {
    postAsUser(path, chatBody(""))
        .expectStatus()
        .isNotFound()
        .expectBody()
        .jsonPath("$.error")
        .isEqualTo("not_found");
    assertThat(store.admits()).isEmpty();
  }

  @Test
  void otherMethodsOnTheirPathsAre405WithAllowPost() {
    client
        .put()
        .uri("/api/v1/completions")
        .header("X-User-ID", USER)
        .bodyValue(chatBody(""))
        .exchange()
        .expectStatus()
        .isEqualTo(405)
        .expectHeader()
        .valueEquals("Allow", "POST");
    assertThat(store.admits()).isEmpty();
  }
}
