package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerLocatorTest {

  @TempDir Path dir;

  @Test
  void takesAConfiguredFile() throws IOException {
    Path file = touch(dir.resolve("my-tokenizer.json"));

    assertThat(TokenizerLocator.locate(Optional.of(file), Map.of())).contains(file);
  }

  @Test
  void findsTheFileInAConfiguredDirectory() throws IOException {
    Path file = touch(dir.resolve("tokenizer.json"));

    assertThat(TokenizerLocator.locate(Optional.of(dir), Map.of())).contains(file);
  }

  @Test
  void readsTokenizerPathFromTheEnvironment() throws IOException {
    Path file = touch(dir.resolve("tokenizer.json"));

    assertThat(TokenizerLocator.locate(Optional.empty(), Map.of("TOKENIZER_PATH", dir.toString())))
        .contains(file);
  }

  @Test
  void prefersTheConfiguredPathOverTheEnvironment() throws IOException {
    Path configured = touch(dir.resolve("a.json"));

    assertThat(
            TokenizerLocator.locate(
                Optional.of(configured), Map.of("TOKENIZER_PATH", "/does/not/exist")))
        .contains(configured);
  }

  @Test
  void refusesAMissingPath() {
    Path missing = dir.resolve("missing");

    assertThatThrownBy(() -> TokenizerLocator.locate(Optional.of(missing), Map.of()))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("TOKENIZER_PATH")
        .hasMessageContaining("does not exist");
    assertThatThrownBy(
            () ->
                TokenizerLocator.locate(
                    Optional.empty(), Map.of("TOKENIZER_PATH", missing.toString())))
        .isInstanceOf(TokenizerLoadException.class);
  }

  @Test
  void refusesADirectoryWithoutTokenizerJson() {
    assertThatThrownBy(() -> TokenizerLocator.locate(Optional.of(dir), Map.of()))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("without tokenizer.json");
  }

  @Test
  void findsTheSnapshotThatRefsMainNames() throws IOException {
    Path model = dir.resolve("hub").resolve(TokenizerLocator.MODEL_CACHE_DIR);
    Path main = touch(model.resolve("snapshots/aaa111/tokenizer.json"));
    touch(model.resolve("snapshots/zzz999/tokenizer.json"));
    write(model.resolve("refs/main"), "aaa111\n");

    assertThat(TokenizerLocator.locate(Optional.empty(), Map.of("HF_HOME", dir.toString())))
        .contains(main);
  }

  @Test
  void otherwiseTakesTheNewestSnapshot() throws IOException {
    Path snapshots =
        dir.resolve("hub").resolve(TokenizerLocator.MODEL_CACHE_DIR).resolve("snapshots");
    Path old = touch(snapshots.resolve("old/tokenizer.json"));
    Path recent = touch(snapshots.resolve("recent/tokenizer.json"));
    Files.createDirectories(snapshots.resolve("incomplete"));
    Files.setLastModifiedTime(old, FileTime.fromMillis(1_000));
    Files.setLastModifiedTime(recent, FileTime.fromMillis(2_000));

    assertThat(TokenizerLocator.locate(Optional.empty(), Map.of("HF_HOME", dir.toString())))
        .contains(recent);
  }

  @Test
  void followsTheHuggingFaceCacheVariables() throws IOException {
    Path viaHubCache =
        touch(
            dir.resolve(
                "hubcache/" + TokenizerLocator.MODEL_CACHE_DIR + "/snapshots/r/tokenizer.json"));
    Path viaXdg =
        touch(
            dir.resolve(
                "xdg/huggingface/hub/"
                    + TokenizerLocator.MODEL_CACHE_DIR
                    + "/snapshots/r/tokenizer.json"));
    Path viaHome =
        touch(
            dir.resolve(
                "home/.cache/huggingface/hub/"
                    + TokenizerLocator.MODEL_CACHE_DIR
                    + "/snapshots/r/tokenizer.json"));

    assertThat(
            TokenizerLocator.locate(
                Optional.empty(),
                Map.of("HF_HUB_CACHE", dir.resolve("hubcache").toString(), "HOME", "/nowhere")))
        .contains(viaHubCache);
    assertThat(
            TokenizerLocator.locate(
                Optional.empty(), Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString())))
        .contains(viaXdg);
    assertThat(
            TokenizerLocator.locate(
                Optional.empty(), Map.of("HOME", dir.resolve("home").toString())))
        .contains(viaHome);
  }

  @Test
  void findsNothingInAnEmptyCache() {
    assertThat(TokenizerLocator.locate(Optional.empty(), Map.of("HF_HOME", dir.toString())))
        .isEmpty();
    assertThat(
            TokenizerLocator.locate(
                Optional.empty(), Map.of("HF_HOME", dir.toString(), "TOKENIZER_PATH", "  ")))
        .isEmpty();
  }

  private static Path touch(Path file) throws IOException {
    return write(file, "{}");
  }

  private static Path write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, text);
  }
}
