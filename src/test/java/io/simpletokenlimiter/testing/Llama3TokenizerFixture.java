package io.simpletokenlimiter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the real Llama 3 {@code tokenizer.json} fixture is: the folder named by the system property
 * {@code llama3.tokenizer.dir} (the pom points it at {@code ../shared/tokenizers/llama3}) or the
 * variable {@code LLAMA3_TOKENIZER_DIR}.
 */
public final class Llama3TokenizerFixture {

  public static final String MISSING =
      "Llama 3 tokenizer fixture not found: set -Dllama3.tokenizer.dir or LLAMA3_TOKENIZER_DIR"
          + " to the folder holding tokenizer.json";

  private Llama3TokenizerFixture() {}

  public static Optional<Path> directory() {
    return Optional.ofNullable(System.getProperty("llama3.tokenizer.dir"))
        .or(() -> Optional.ofNullable(System.getenv("LLAMA3_TOKENIZER_DIR")))
        .map(Path::of)
        .filter(dir -> Files.isRegularFile(dir.resolve("tokenizer.json")));
  }
}
