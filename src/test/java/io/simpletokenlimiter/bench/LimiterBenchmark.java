package io.simpletokenlimiter.bench;

import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.LeaseEvents;
import io.simpletokenlimiter.limit.LeaseScope;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.StrictTokenLimiter;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.limit.UserLimits;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.limit.store.redis.RedisLimitStore;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.RespConnection;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The limiter's request path without HTTP: one admission (reserve prompt + budget) and its settle,
 * through the real {@link StrictTokenLimiter}, with the in-memory store and with the Redis store
 * against a local {@code redis-server} the benchmark starts (the one on PATH, else the test jar's).
 *
 * <p>Not a test. Run {@link #main} with the test classpath (see {@code
 * docs/benchmarks/limiter.md}); about 1.5 minutes. {@code avgt} rows are one admit + settle, one
 * caller at a time; {@code thrpt} rows are admit + settle pairs per second with 64 in flight
 * (Redis) or two threads (memory).
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xmx512m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 3)
public class LimiterBenchmark {

  /** High enough that nothing is ever rejected: the benchmark measures admitted requests. */
  private static final Limits LIMITS =
      new Limits(1_000_000_000_000L, 1_000_000_000_000L, 1_000_000_000_000L, 1_000_000);

  private static final ReservationRequest REQUEST = ReservationRequest.fixed(48, 1, 150);
  private static final int IN_FLIGHT = 64;
  private static final int USERS = 10_000;

  /** {@code memory} or {@code redis}. */
  @Param({"memory", "redis"})
  public String store;

  private RedisServerProcess redis;
  private LettuceConnectionFactory connections;
  private StrictTokenLimiter limiter;

  @Setup(Level.Trial)
  public void start() {
    LimitStore limitStore =
        switch (store) {
          case "memory" -> new MemoryLimitStore();
          case "redis" -> {
            redis = RedisServerProcess.start();
            connections = RedisConnections.standalone(redis);
            yield new RedisLimitStore(connections);
          }
          default -> throw new IllegalArgumentException(store);
        };
    limiter =
        new StrictTokenLimiter(
            limitStore,
            UserLimits.of(LIMITS),
            Clock.systemUTC(),
            Duration.ofSeconds(30),
            Duration.ofMinutes(30),
            LeaseEvents.NONE);
  }

  @TearDown(Level.Trial)
  public void stop() {
    if (connections != null) {
      printCommandStats();
      connections.destroy();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /** One caller, one user: the latency a request pays for its two limiter steps. */
  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Lease admitAndSettleOneUser() {
    return admitAndSettle("bench-user").block();
  }

  /** Admit + settle pairs per second with many in flight, spread over {@value #USERS} users. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  @OperationsPerInvocation(IN_FLIGHT)
  @Threads(1)
  public Long admitAndSettleManyInFlight() {
    return Flux.range(0, IN_FLIGHT)
        .flatMap(
            i -> admitAndSettle("bench-" + ThreadLocalRandom.current().nextInt(USERS)), IN_FLIGHT)
        .count()
        .block();
  }

  /** Two threads on one user: what contention on one user's lock or keys costs. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  @Threads(2)
  public Lease admitAndSettleOneUserTwoThreads() {
    return admitAndSettle("bench-hot-user").block();
  }

  private Mono<Lease> admitAndSettle(String user) {
    return limiter
        .admit(user, REQUEST, LeaseScope.UNBOUNDED)
        .flatMap(lease -> lease.settle(new TokenUsage(100, 20)).thenReturn(lease));
  }

  /** Redis commands the whole trial sent, by kind: the scripts run as EVALSHA. */
  private void printCommandStats() {
    try (RespConnection connection = redis.connect()) {
      connection
          .callString("INFO", "commandstats")
          .lines()
          .filter(line -> line.startsWith("cmdstat_"))
          .forEach(line -> System.out.println("# redis " + line));
    }
  }

  public static void main(String[] args) throws RunnerException {
    new Runner(new OptionsBuilder().include(LimiterBenchmark.class.getName()).build()).run();
  }
}
