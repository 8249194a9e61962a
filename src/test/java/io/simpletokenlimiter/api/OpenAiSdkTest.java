package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The official OpenAI Java SDK, pointed at the limiter, notices nothing but the limits. */
class OpenAiSdkTest extends ProxyIntegrationTest {

  private OpenAIClient sdk(String prefix) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(baseUrl() + prefix)
        .apiKey("not-used")
        .putHeader("X-User-ID", USER)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  private static ChatCompletionCreateParams chat() {
    return ChatCompletionCreateParams.builder()
        .model(PUBLIC_MODEL)
        .addSystemMessage("You are a helpful assistant.")
        .addUserMessage("Explain quantum computing in simple terms")
        .maxCompletionTokens(6)
        .temperature(0.7)
        .build();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/api/v1", "/v1"})
  void chatCompletion(String prefix) {
    VLLM.promptTokens(25).answerTokens(20);

    ChatCompletion completion = sdk(prefix).chat().completions().create(chat());

    assertThat(completion.model()).isEqualTo(PUBLIC_MODEL);
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.choices().get(0).message().content())
        .hasValue("tok1 tok2 tok3 tok4 tok5 tok6 ");
    assertThat(completion.usage().orElseThrow().totalTokens()).isEqualTo(31);
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(31);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/api/v1", "/v1"})
  void streamingChatCompletion(String prefix) {
    VLLM.promptTokens(25).answerTokens(4);
    List<String> content = new ArrayList<>();
    List<ChatCompletionChunk> chunks = new ArrayList<>();

    try (StreamResponse<ChatCompletionChunk> stream =
        sdk(prefix).chat().completions().createStreaming(chat())) {
      stream.stream()
          .forEach(
              chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(choice -> choice.delta().content().ifPresent(content::add));
              });
    }

    assertThat(String.join("", content)).isEqualTo("tok1 tok2 tok3 tok4 ");
    assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.model()).isEqualTo(PUBLIC_MODEL));
    assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.usage()).isEmpty());
    awaitAllSettled();
    assertThat(store.settles().get(0).chargedTokens()).isEqualTo(29);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/api/v1", "/v1"})
  void legacyCompletion(String prefix) {
    VLLM.promptTokens(3).answerTokens(2);

    Completion completion =
        sdk(prefix)
            .completions()
            .create(
                CompletionCreateParams.builder()
                    .model(PUBLIC_MODEL)
                    .prompt("Once upon a time")
                    .maxTokens(5)
                    .build());

    assertThat(completion.model()).isEqualTo(PUBLIC_MODEL);
    assertThat(completion.choices().get(0).text()).isEqualTo("tok1 tok2 ");
    awaitAllSettled();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1"})
  void rateLimitSurfacesAsTheSdkRateLimitException(String prefix) {
    store.reject(new Admission.Rejected(LimitType.MINUTE, 30_000, RecordingLimitStore.QUOTA));

    assertThatThrownBy(() -> sdk(prefix).chat().completions().create(chat()))
        .isInstanceOf(RateLimitException.class)
        .satisfies(
            error -> {
              RateLimitException rateLimit = (RateLimitException) error;
              assertThat(rateLimit.statusCode()).isEqualTo(429);
              assertThat(rateLimit.headers().values("retry-after")).containsExactly("30");
            });
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1"})
  void unknownModelSurfacesAsNotFound(String prefix) {
    ChatCompletionCreateParams params = chat().toBuilder().model("gpt-4o").build();

    assertThatThrownBy(() -> sdk(prefix).chat().completions().create(params))
        .isInstanceOf(NotFoundException.class);
  }
}
