package io.simpletokenlimiter.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.testing.vllm.FakeVllm;
import io.simpletokenlimiter.testing.vllm.RecordedRequest;
import java.util.UUID;

/**
 * Finds, from outside, how many prompt tokens the limiter counts for {@link ChatRequest}'s
 * messages, so that tests hold with the exact Llama 3 counter and with the byte bound alike.
 *
 * <p>A fresh user asks without {@code max_tokens}: the limiter grants all it can, {@code room -
 * prompt}, and sends it to vLLM as {@code max_tokens}, where {@code room} is the least of the
 * user's token limits and the model's context (2,048).
 */
final class PromptProbe {

  private PromptProbe() {}

  static long countedPrompt(ApiClient api, FakeVllm fake, long room) {
    String user = "probe-" + UUID.randomUUID();
    String tag = user + "-0";
    ApiClient.Answer answer = api.chat(user, ChatRequest.withoutMaxTokens(tag).json()).block();
    assertThat(answer.status()).as("probe answer %s", answer).isEqualTo(200);
    RecordedRequest received =
        fake.generationRequests().stream()
            .filter(request -> tag.equals(request.json().path("user").stringValue("")))
            .findFirst()
            .orElseThrow();
    return room - received.json().path("max_tokens").longValue();
  }
}
