package io.simpletokenlimiter.tokens;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds the {@code tokenizer.json} to load.
 *
 * <ol>
 *   <li>The configured path, else the {@code TOKENIZER_PATH} environment variable: a {@code
 *       tokenizer.json} file, or a directory holding one. Set but missing is an error, never a
 *       silent fallback.
 *   <li>Otherwise the Hugging Face cache, where vLLM's download of the model put it: {@code
 *       $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code
 *       ${XDG_CACHE_HOME:-~/.cache}/huggingface/hub}, then {@code
 *       models--meta-llama--Llama-3.2-1B-Instruct/snapshots/<rev>/tokenizer.json}, the revision
 *       {@code refs/main} names first, else the newest snapshot.
 * </ol>
 */
final class TokenizerLocator {

  static final String TOKENIZER_PATH = "TOKENIZER_PATH";
  static final String MODEL_CACHE_DIR = "models--meta-llama--Llama-3.2-1B-Instruct";
  private static final String FILE_NAME = "tokenizer.json";

  private TokenizerLocator() {}

  /**
   * The file to load, or empty when none is configured and the cache has none.
   *
   * @throws TokenizerLoadException when a configured path does not lead to a file
   */
  static Optional<Path> locate(Optional<Path> configured, Map<String, String> env) {
    Optional<Path> explicit = configured.or(() -> nonBlank(env.get(TOKENIZER_PATH)).map(Path::of));
    if (explicit.isPresent()) {
      return Optional.of(explicitFile(explicit.get()));
    }
    return fromHuggingFaceCache(env);
  }

  private static Path explicitFile(Path path) {
    if (Files.isRegularFile(path)) {
      return path;
    }
    if (Files.isDirectory(path)) {
      Path file = path.resolve(FILE_NAME);
      if (Files.isRegularFile(file)) {
        return file;
      }
      throw new TokenizerLoadException(
          "tokenizer path "
              + path
              + " ("
              + TOKENIZER_PATH
              + ") is a directory without "
              + FILE_NAME);
    }
    throw new TokenizerLoadException(
        "tokenizer path " + path + " (" + TOKENIZER_PATH + ") does not exist");
  }

  private static Optional<Path> fromHuggingFaceCache(Map<String, String> env) {
    Path model = hubDirectory(env).resolve(MODEL_CACHE_DIR);
    Optional<Path> main =
        readRef(model.resolve("refs").resolve("main"))
            .map(revision -> model.resolve("snapshots").resolve(revision).resolve(FILE_NAME))
            .filter(Files::isRegularFile);
    if (main.isPresent()) {
      return main;
    }
    Path snapshots = model.resolve("snapshots");
    if (!Files.isDirectory(snapshots)) {
      return Optional.empty();
    }
    try (Stream<Path> revisions = Files.list(snapshots)) {
      return revisions
          .map(revision -> revision.resolve(FILE_NAME))
          .filter(Files::isRegularFile)
          .max(Comparator.comparing(TokenizerLocator::modified));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Path hubDirectory(Map<String, String> env) {
    Optional<Path> hubCache = nonBlank(env.get("HF_HUB_CACHE")).map(Path::of);
    if (hubCache.isPresent()) {
      return hubCache.get();
    }
    Path home =
        nonBlank(env.get("HF_HOME"))
            .map(Path::of)
            .orElseGet(
                () ->
                    nonBlank(env.get("XDG_CACHE_HOME"))
                        .map(Path::of)
                        .orElseGet(() -> userHome(env).resolve(".cache"))
                        .resolve("huggingface"));
    return home.resolve("hub");
  }

  private static Path userHome(Map<String, String> env) {
    return Path.of(nonBlank(env.get("HOME")).orElse(System.getProperty("user.home")));
  }

  private static Optional<String> readRef(Path ref) {
    try {
      return Files.isRegularFile(ref) ? nonBlank(Files.readString(ref).strip()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static FileTime modified(Path file) {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  private static Optional<String> nonBlank(String value) {
    return Optional.ofNullable(value).filter(v -> !v.isBlank());
  }
}
