package io.simpletokenlimiter.api;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * A service with a single connection to vLLM, for the tests that keep it busy with a {@link
 * HeldStream}: its settings, user and chat request.
 */
final class OneVllmConnection {

  static final String USER = "alice@example.com";

  /** A chat request; {@code %s} takes further fields, e.g. {@code ,"stream":true}. */
  static final String CHAT =
      "{\"model\":\"llama3.2-1b\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
          + "\"max_tokens\":8%s}";

  private OneVllmConnection() {}

  /**
   * One connection to {@code vllm}, waited for at most {@code connectTimeout} (the pool's wait as
   * well); reads time out far later than the tests hold a stream.
   */
  static void properties(DynamicPropertyRegistry registry, FakeVllm vllm, String connectTimeout) {
    registry.add("token.limit.vllm-url", vllm::baseUrl);
    registry.add("token.limit.upstream.max-connections", () -> "1");
    registry.add("token.limit.upstream.connect-timeout", () -> connectTimeout);
    registry.add("token.limit.upstream.first-byte-timeout", () -> "30s");
    registry.add("token.limit.upstream.idle-timeout", () -> "30s");
  }

  /** A non-streamed chat request of {@link #USER}. */
  static WebTestClient.ResponseSpec post(WebTestClient client) {
    return client
        .post()
        .uri("/api/v1/chat/completions")
        .header("X-User-ID", USER)
        .bodyValue(CHAT.formatted(""))
        .exchange();
  }
}
