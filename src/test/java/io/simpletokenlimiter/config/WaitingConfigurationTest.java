package io.simpletokenlimiter.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.store.memory.MemoryRuntimeLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a user's share of the model's turns comes from. */
class WaitingConfigurationTest {

  private static final Limits DEFAULTS = new Limits(1_000, 10_000, 100_000, 5);

  @TempDir Path dir;

  @Test
  void theFilesShareWinsThenThePropertyThenOne() throws IOException {
    Path path =
        write(
            """
            tiers:
              gold: {share: 3}
              silver: {}
              bronze: {share: 1}
            users:
              gold-user: gold
              silver-user: silver
              bronze-user: bronze
              own-user: {max-tokens-per-minute: 200}
            """);
    MemoryRuntimeLimits runtime = new MemoryRuntimeLimits();
    LayeredLimits limits = new LayeredLimits(new LimitOverridesFile(path, DEFAULTS), runtime);
    ToIntFunction<String> shares =
        WaitingConfiguration.shares(
            limits, queue(Map.of("gold", 5, "silver", 2, "bronze", 4, "other", 7)));

    assertThat(shares.applyAsInt("gold-user")).as("file 3 over property 5").isEqualTo(3);
    assertThat(shares.applyAsInt("silver-user")).as("no share in the file").isEqualTo(2);
    assertThat(shares.applyAsInt("bronze-user")).as("file 1 over property 4").isEqualTo(1);
    assertThat(shares.applyAsInt("own-user")).as("an entry without a tier").isEqualTo(1);
    assertThat(shares.applyAsInt("nobody")).as("not in the file").isEqualTo(1);

    // A tier given at run time (admin API) brings its share.
    runtime.put("nobody", LimitOverride.tierOnly("gold")).block();
    assertThat(shares.applyAsInt("nobody")).isEqualTo(3);
  }

  @Test
  void aReloadedFilesShareAppliesWithoutARestart() throws IOException {
    Path path = write("tiers: {gold: {share: 2}}\nusers: {gold-user: gold}");
    LimitOverridesFile file = new LimitOverridesFile(path, DEFAULTS);
    ToIntFunction<String> shares =
        WaitingConfiguration.shares(
            new LayeredLimits(file, new MemoryRuntimeLimits()), queue(Map.of("gold", 6)));
    assertThat(shares.applyAsInt("gold-user")).isEqualTo(2);

    Files.writeString(path, "tiers: {gold: {share: 4}}\nusers: {gold-user: gold}");
    Files.setLastModifiedTime(path, FileTime.from(Instant.now().plusSeconds(60)));
    assertThat(file.reloadIfChanged()).isTrue();
    assertThat(shares.applyAsInt("gold-user")).isEqualTo(4);

    // The share removed from the file: the property's applies again.
    Files.writeString(path, "tiers: {gold: {}}\nusers: {gold-user: gold}");
    Files.setLastModifiedTime(path, FileTime.from(Instant.now().plusSeconds(120)));
    assertThat(file.reloadIfChanged()).isTrue();
    assertThat(shares.applyAsInt("gold-user")).isEqualTo(6);
  }

  private static QueueProperties queue(Map<String, Integer> shares) {
    return new QueueProperties(Duration.ZERO, Duration.ofSeconds(60), 100, 10_000, shares);
  }

  private Path write(String yaml) throws IOException {
    Path path = dir.resolve("limits.yml");
    Files.writeString(path, yaml);
    return path;
  }
}
