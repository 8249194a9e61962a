package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** The start-up factory: exact with a vocabulary, the safe bound without, errors when misset. */
@ExtendWith(OutputCaptureExtension.class)
class TokenizationTest {

  @TempDir Path dir;

  @Test
  void countsExactlyWithAVocabulary(CapturedOutput output) {
    Path file = TinyVocabulary.write(dir);

    Tokenization tokenization = Tokenization.load(Optional.of(file), Map.of());

    assertThat(tokenization.counter()).isInstanceOf(ExactTokenCounter.class);
    assertThat(tokenization.counter().exact()).isTrue();
    assertThat(tokenization.tokenizer().available()).isTrue();
    assertThat(output).contains("exact Llama 3 counting from " + file + " (259 ranks)");
  }

  @Test
  void findsTheVocabularyThroughTheEnvironment() {
    TinyVocabulary.write(dir);

    Tokenization tokenization =
        Tokenization.load(Optional.empty(), Map.of("TOKENIZER_PATH", dir.toString()));

    assertThat(tokenization.counter().exact()).isTrue();
  }

  @Test
  void fallsBackToTheByteBoundWithAWarning(CapturedOutput output) {
    Tokenization tokenization =
        Tokenization.load(Optional.empty(), Map.of("HF_HOME", dir.toString()));

    assertThat(tokenization.counter()).isInstanceOf(Utf8BoundTokenCounter.class);
    assertThat(tokenization.counter().exact()).isFalse();
    assertThat(tokenization.tokenizer().available()).isFalse();
    assertThat(output).contains("WARN").contains("over-counted").contains("TOKENIZER_PATH");
  }

  @Test
  void failsOnAConfiguredPathThatDoesNotExist() {
    Path missing = dir.resolve("nope");

    assertThatThrownBy(() -> Tokenization.load(Optional.of(missing), Map.of()))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining(missing.toString());
  }

  @Test
  void failsOnAConfiguredFileThatDoesNotParse() throws IOException {
    Path broken = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": [");

    assertThatThrownBy(
            () -> Tokenization.load(Optional.empty(), Map.of("TOKENIZER_PATH", broken.toString())))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining(broken.toString());
  }
}
