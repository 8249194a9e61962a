package io.simpletokenlimiter.e2e;

import java.util.OptionalInt;
import tools.jackson.databind.node.ObjectNode;

/**
 * A chat completion as a client sends it. Every request has the same messages, so the limiter
 * counts the same prompt for all of them; {@code tag} travels in OpenAI's {@code user} field, which
 * the limiter forwards untouched, so each request can be found again at the fake vLLM.
 */
record ChatRequest(OptionalInt maxTokens, boolean stream, String tag) {

  static ChatRequest of(int maxTokens, String tag) {
    return new ChatRequest(OptionalInt.of(maxTokens), false, tag);
  }

  static ChatRequest withoutMaxTokens(String tag) {
    return new ChatRequest(OptionalInt.empty(), false, tag);
  }

  ChatRequest streamed() {
    return new ChatRequest(maxTokens, true, tag);
  }

  String json() {
    ObjectNode body = ApiClient.JSON.createObjectNode();
    body.put("model", "llama3.2-1b");
    body.putArray("messages")
        .add(message("system", "You are a helpful assistant."))
        .add(message("user", "Explain quantum computing in simple terms"));
    maxTokens.ifPresent(tokens -> body.put("max_tokens", tokens));
    if (stream) {
      body.put("stream", true);
    }
    body.put("user", tag);
    return ApiClient.JSON.writeValueAsString(body);
  }

  private static ObjectNode message(String role, String content) {
    ObjectNode message = ApiClient.JSON.createObjectNode();
    message.put("role", role);
    message.put("content", content);
    return message;
  }
}
