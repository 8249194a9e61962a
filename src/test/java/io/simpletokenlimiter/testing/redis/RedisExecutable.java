package io.simpletokenlimiter.testing.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds a {@code redis-server} to run: the one on {@code PATH} (CI installs Debian's Redis 7), else
 * the Redis 6.2 binary that {@code com.github.codemonstur:embedded-redis} ships inside its jar,
 * copied out once per JVM. The system property {@code stl.redis.server} overrides the choice:
 * {@code embedded} forces the jar's binary, {@code path} requires one on PATH, anything else is
 * taken as the path of an executable.
 */
public final class RedisExecutable {

  public static final String PROPERTY = "stl.redis.server";

  private static Path resolved;

  private RedisExecutable() {}

  public static synchronized Path path() {
    if (resolved == null) {
      resolved = resolve(System.getProperty(PROPERTY, ""));
    }
    return resolved;
  }

  /** Resolves a choice as the system property would: {@code embedded}, {@code path}, a file. */
  public static Path resolve(String choice) {
    return switch (choice) {
      case "embedded" -> fromJar();
      case "path" ->
          onPath()
              .orElseThrow(
                  () ->
                      new IllegalStateException(PROPERTY + "=path but no redis-server is on PATH"));
      case "" -> onPath().orElseGet(RedisExecutable::fromJar);
      default -> {
        Path explicit = Path.of(choice);
        if (!Files.isExecutable(explicit)) {
          throw new IllegalStateException(PROPERTY + "=" + choice + " is not an executable");
        }
        yield explicit;
      }
    };
  }

  private static Optional<Path> onPath() {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.of(path.split(java.io.File.pathSeparator))
        .filter(dir -> !dir.isBlank())
        .map(dir -> Path.of(dir, "redis-server"))
        .filter(Files::isExecutable)
        .findFirst();
  }

  private static Path fromJar() {
    String resource = jarResource();
    try (InputStream binary = RedisExecutable.class.getResourceAsStream("/" + resource)) {
      if (binary == null) {
        throw new IllegalStateException(
            resource + " is not on the test classpath: is embedded-redis a test dependency?");
      }
      Path dir = Files.createTempDirectory("stl-redis-bin");
      Path target = dir.resolve("redis-server");
      Files.copy(binary, target, StandardCopyOption.REPLACE_EXISTING);
      if (!target.toFile().setExecutable(true)) {
        throw new IllegalStateException("cannot make " + target + " executable");
      }
      target.toFile().deleteOnExit();
      dir.toFile().deleteOnExit();
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract " + resource, e);
    }
  }

  private static String jarResource() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    boolean arm = arch.contains("aarch64") || arch.contains("arm64");
    if (os.contains("linux")) {
      return arm ? "redis-server-6.2.7-linux-arm64" : "redis-server-6.2.6-v5-linux-amd64";
    }
    if (os.contains("mac")) {
      return arm ? "redis-server-6.2.6-v5-darwin-arm64" : "redis-server-6.2.6-v5-darwin-amd64";
    }
    throw new IllegalStateException("no embedded redis-server for " + os + "/" + arch);
  }
}
