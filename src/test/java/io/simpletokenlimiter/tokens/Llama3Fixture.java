package io.simpletokenlimiter.tokens;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.simpletokenlimiter.testing.Llama3TokenizerFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The real Llama 3 vocabulary and its reference data, from the folder named by the system property
 * {@code llama3.tokenizer.dir} or the variable {@code LLAMA3_TOKENIZER_DIR}. Tests that need it are
 * skipped when it is absent. The 9 MB vocabulary is loaded once per JVM.
 */
final class Llama3Fixture {

  static final JsonMapper JSON = JsonMapper.shared();

  private Llama3Fixture() {}

  static Path dir() {
    Optional<Path> dir = Llama3TokenizerFixture.directory();
    assumeTrue(dir.isPresent(), Llama3TokenizerFixture.MISSING);
    return dir.get();
  }

  static Llama3Tokenizer tokenizer() {
    dir();
    return Holder.TOKENIZER;
  }

  static ExactTokenCounter counter() {
    dir();
    return Holder.COUNTER;
  }

  /** Each line of a reference file of the fixture folder, parsed. */
  static List<JsonNode> lines(String fileName) {
    try (var lines = Files.lines(dir().resolve(fileName))) {
      return lines.filter(l -> !l.isBlank()).map(JSON::readTree).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode json(String text) {
    return JSON.readTree(text);
  }

  private static final class Holder {
    static final Llama3Tokenizer TOKENIZER = Llama3Tokenizer.load(dir().resolve("tokenizer.json"));
    static final ExactTokenCounter COUNTER = new ExactTokenCounter(TOKENIZER);
  }
}
