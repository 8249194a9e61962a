package io.simpletokenlimiter.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.TokenUsage;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.json.JsonMapper;

class AnswerRewriteTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private final AnswerRewrite rewrite = new AnswerRewrite(JSON, "llama3.2-1b");

  @Test
  void replacesTheTopLevelModelAndKeepsEveryOtherByte() {
    String answer =
        "{\"id\":\"chatcmpl-1\", \"model\" : \"meta-llama/Llama-3.2-1B-Instruct\",\n"
            + "\"choices\":[{\"index\":0,\"message\":{\"content\":\"the \\\"model\\\": x\"},"
            + "\"model\":\"inner\"}],"
            + "\"usage\":{\"prompt_tokens\":25,\"total_tokens\":125,\"completion_tokens\":100}}";

    AnswerRewrite.Rewritten rewritten = rewrite.rewrite(bytes(answer)).orElseThrow();

    assertThat(new String(rewritten.bytes(), StandardCharsets.UTF_8))
        .isEqualTo(answer.replace("\"meta-llama/Llama-3.2-1B-Instruct\"", "\"llama3.2-1b\""));
    assertThat(rewritten.usage()).contains(new TokenUsage(25, 100));
  }

  @Test
  void aModelWithEscapesAndUnicodeIsReplacedWhole() {
    String answer = "{\"model\":\"m\\u00e9ta\\\"x\\\\\",\"usage\":{\"prompt_tokens\":1}}";

    byte[] out = rewrite.rewrite(bytes(answer)).orElseThrow().bytes();

    assertThat(JSON.readTree(out).path("model").stringValue()).isEqualTo("llama3.2-1b");
    assertThat(JSON.readTree(out).path("usage").path("prompt_tokens").intValue()).isEqualTo(1);
  }

  @Test
  void anAnswerWithoutModelOrUsageIsPassedAsItCame() {
    String answer = "{\"id\":\"x\",\"choices\":[]}";

    AnswerRewrite.Rewritten rewritten = rewrite.rewrite(bytes(answer)).orElseThrow();

    assertThat(rewritten.bytes()).isEqualTo(bytes(answer));
    assertThat(rewritten.usage()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"[1,2]", "\"text\"", "{\"model\":", "{} trailing", "not json", ""})
  void whatIsNotOneJsonObjectIsNotRewritten(String answer) {
    assertThat(rewrite.rewrite(bytes(answer))).isEqualTo(Optional.empty());
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
