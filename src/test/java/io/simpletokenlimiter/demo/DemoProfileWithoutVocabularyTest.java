package io.simpletokenlimiter.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.demo.DemoProfileTest.Http;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import tools.jackson.databind.JsonNode;

/**
 * Without a {@code tokenizer.json} the limiter counts prompts with the UTF-8 upper bound, and the
 * demo reports that same count as {@code prompt_tokens}: usage stays consistent (what is reserved
 * for the prompt is what is charged), only larger than vLLM's.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"token.limit.demo.first-token-delay=0ms", "token.limit.demo.token-delay=1ms"})
@ActiveProfiles("demo")
@Timeout(60)
class DemoProfileWithoutVocabularyTest {

  @LocalServerPort int port;
  @Autowired PromptTokenCounter counter;

  @Test
  void theDemoReportsTheBoundAndUsageMovesByExactlyWhatItReports() {
    assertThat(counter.exact()).isFalse();
    Http http = new Http(port);

    HttpResponse<String> answer =
        http.post("/api/v1/chat/completions", "no-vocab", DemoProfileTest.README_CHAT);

    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode usage = DemoProfileTest.JSON.readTree(answer.body()).path("usage");
    assertThat(usage.path("prompt_tokens").longValue())
        .isEqualTo(
            counter
                .countChat(DemoProfileTest.JSON.readTree(DemoProfileTest.README_CHAT))
                .totalTokens())
        .isGreaterThan(48);
    assertThat(
            DemoProfileTest.JSON
                .readTree(http.get("/api/v1/usage/no-vocab", "no-vocab").body())
                .path("minute")
                .longValue())
        .isEqualTo(usage.path("total_tokens").longValue());
  }

  @Test
  void tokenizeSaysATokenizerIsMissing() {
    HttpResponse<String> answer =
        new Http(port)
            .post("/tokenize", "no-vocab", "{\"model\":\"llama3.2-1b\",\"prompt\":\"Hello\"}");

    assertThat(answer.statusCode()).isEqualTo(404);
    assertThat(answer.body()).contains("TOKENIZER_PATH");
  }
}
