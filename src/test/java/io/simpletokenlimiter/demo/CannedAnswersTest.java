package io.simpletokenlimiter.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.simpletokenlimiter.testing.Llama3TokenizerFixture;
import io.simpletokenlimiter.tokens.Llama3Tokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo's completion counts are Llama 3's: one token per pre-tokenizer piece. */
class CannedAnswersTest {

  @Test
  void everyPrefixOfEveryAnswerHasAsManyLlama3TokensAsPieces() {
    assumeTrue(Llama3TokenizerFixture.directory().isPresent(), Llama3TokenizerFixture.MISSING);
    Llama3Tokenizer llama3 =
        Llama3Tokenizer.load(
            Llama3TokenizerFixture.directory().orElseThrow().resolve("tokenizer.json"));
    CannedAnswers answers = CannedAnswers.load();

    assertThat(answers.size()).isGreaterThanOrEqualTo(3);
    for (int a = 0; a < answers.size(); a++) {
      List<String> tokens = answers.answer(a);
      assertThat(tokens).hasSizeGreaterThan(40);
      StringBuilder prefix = new StringBuilder();
      for (int t = 0; t < tokens.size(); t++) {
        assertThat(llama3.count(tokens.get(t))).as("token [%s]", tokens.get(t)).isEqualTo(1);
        prefix.append(tokens.get(t));
        assertThat(llama3.count(prefix.toString())).as("prefix %s", prefix).isEqualTo(t + 1);
      }
    }
  }

  @Test
  void theSameQuestionGetsTheSameAnswer() {
    CannedAnswers answers = CannedAnswers.load();

    assertThat(answers.answer(-7)).isEqualTo(answers.answer(-7 + answers.size()));
    assertThat(String.join("", answers.answer(0))).startsWith("This is the demo model");
  }
}
