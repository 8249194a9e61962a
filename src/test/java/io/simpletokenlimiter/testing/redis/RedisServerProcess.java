package io.simpletokenlimiter.testing.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code redis-server} process for tests, on a free loopback port and in its own temporary
 * directory, with persistence off. It can be stopped and started again on the same port, to test
 * Redis going away and coming back. Every process is killed when the JVM exits, whatever the tests
 * did; every wait is bounded and fails with the server's log.
 */
public final class RedisServerProcess implements AutoCloseable {

  public static final String HOST = "127.0.0.1";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final int START_ATTEMPTS = 3;
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly)));
  }

  private final Path executable;
  private final int port;
  private final Path dir;
  private final List<String> extraArguments;
  private Process process;

  private RedisServerProcess(Path executable, int port, Path dir, List<String> extraArguments) {
    this.executable = executable;
    this.port = port;
    this.dir = dir;
    this.extraArguments = List.copyOf(extraArguments);
  }

  /** Starts a standalone server on a free port, with the {@link RedisExecutable} chosen. */
  public static RedisServerProcess start() {
    return start(RedisExecutable.path());
  }

  /** Starts a standalone server of the given {@code redis-server} binary on a free port. */
  public static RedisServerProcess start(Path executable) {
    return startOnFreePort(executable, false, List.of());
  }

  /** Starts an empty cluster-enabled node; {@link RedisTestCluster} joins nodes together. */
  static RedisServerProcess startClusterNode() {
    return startOnFreePort(
        RedisExecutable.path(),
        true,
        List.of(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "3000"));
  }

  private static RedisServerProcess startOnFreePort(
      Path executable, boolean clusterBus, List<String> arguments) {
    IllegalStateException last = null;
    // A port found free can be taken by someone else before redis binds it: try another.
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      RedisServerProcess server =
          new RedisServerProcess(executable, freePort(clusterBus), temporaryDirectory(), arguments);
      try {
        server.startAgain();
        return server;
      } catch (IllegalStateException e) {
        server.close();
        last = e;
      }
    }
    throw last;
  }

  public int port() {
    return port;
  }

  public String host() {
    return HOST;
  }

  /** {@code host:port}, as cluster seed lists want it. */
  public String address() {
    return HOST + ":" + port;
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Starts the server again on the same port after {@link #stop()}; waits until it answers. */
  public synchronized void startAgain() {
    if (isRunning()) {
      throw new IllegalStateException("redis on port " + port + " is already running");
    }
    List<String> command =
        new ArrayList<>(
            List.of(
                executable.toString(),
                "--port",
                Integer.toString(port),
                "--bind",
                HOST,
                "--dir",
                dir.toString(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                "redis.log"));
    command.addAll(extraArguments);
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("stdout.log").toFile())
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command.get(0), e);
    }
    RUNNING.add(process);
    awaitReady();
  }

  /** Kills the server (as a crash would, without saving) and waits until it is gone. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "redis on port " + port + " did not stop in " + STOP_TIMEOUT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping redis", e);
    }
    RUNNING.remove(process);
    process = null;
  }

  /**
   * Freezes the server (SIGSTOP) as a stalled host would: connections stay open, nothing answers.
   * {@link #thaw()} lets it go on where it stopped.
   */
  public synchronized void freeze() {
    signal("-STOP");
  }

  public synchronized void thaw() {
    signal("-CONT");
  }

  private void signal(String signal) {
    try {
      Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).start();
      if (kill.waitFor() != 0) {
        throw new IllegalStateException("kill " + signal + " failed for redis on port " + port);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Stops the server and starts it again, empty, on the same port. */
  public void restart() {
    stop();
    startAgain();
  }

  public RespConnection connect() {
    return RespConnection.open(HOST, port, Duration.ofSeconds(5));
  }

  /** The server's version, e.g. {@code 7.0.15}. */
  public String version() {
    try (RespConnection connection = connect()) {
      String info = connection.callString("INFO", "server");
      return info.lines()
          .filter(line -> line.startsWith("redis_version:"))
          .map(line -> line.substring("redis_version:".length()).trim())
          .findFirst()
          .orElse("unknown");
    }
  }

  /** Removes every key, as a fresh server would have none. */
  public void flushAll() {
    try (RespConnection connection = connect()) {
      connection.call("FLUSHALL");
    }
  }

  @Override
  public void close() {
    stop();
    deleteRecursively(dir);
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        RUNNING.remove(process);
        process = null;
        throw new IllegalStateException("redis on port " + port + " exited at start:\n" + logs());
      }
      try (RespConnection connection = RespConnection.open(HOST, port, Duration.ofMillis(500))) {
        if ("PONG".equals(connection.call("PING"))) {
          return;
        }
      } catch (RuntimeException notYet) {
        // not listening yet, or still loading
      }
      sleep(Duration.ofMillis(20));
    }
    stop();
    throw new IllegalStateException(
        "redis on port " + port + " did not answer PING within " + START_TIMEOUT + ":\n" + logs());
  }

  String logs() {
    StringBuilder text = new StringBuilder();
    for (String name : List.of("stdout.log", "redis.log")) {
      Path file = dir.resolve(name);
      try {
        if (Files.exists(file)) {
          List<String> lines = Files.readAllLines(file);
          text.append("--- ").append(name).append('\n');
          lines
              .subList(Math.max(0, lines.size() - 30), lines.size())
              .forEach(line -> text.append(line).append('\n'));
        }
      } catch (IOException e) {
        text.append("(cannot read ").append(file).append(": ").append(e).append(")\n");
      }
    }
    return text.toString();
  }

  static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for redis", e);
    }
  }

  private static int freePort(boolean clusterBus) {
    for (int attempt = 0; attempt < 50; attempt++) {
      try (ServerSocket socket = new ServerSocket(0)) {
        int port = socket.getLocalPort();
        // A cluster node also listens on port + 10000 for its peers.
        if (!clusterBus || (port + 10_000 <= 65_535 && isFree(port + 10_000))) {
          return port;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot find a free port", e);
      }
    }
    throw new IllegalStateException("no free port pair for a redis cluster node");
  }

  private static boolean isFree(int port) {
    try (ServerSocket ignored = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static Path temporaryDirectory() {
    try {
      return Files.createTempDirectory("stl-redis-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temp dir for redis", e);
    }
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // a leftover temp dir is harmless
    }
  }
}
