package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.resource.ClientResources;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.simpletokenlimiter.testing.redis.RedisServerExtension;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.RespConnection;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Flux;
import reactor.netty.resources.LoopResources;

/**
 * Each HTTP event loop's scripts go out and come back on that loop, on a connection of its own that
 * survives Redis going away; any other thread, and a loop whose connection is not open, uses the
 * shared connection.
 */
@Timeout(60)
class LoopLocalRedisTest {

  @RegisterExtension static final RedisServerExtension REDIS = new RedisServerExtension();

  private static final RedisScript<Long> SCRIPT =
      RedisScript.of("return redis.call('INCR', KEYS[1])", Long.class);

  private final LoopResources loopResources = LoopResources.create("loop-local-test", 2, true);
  private final EventLoopGroup loops = loopResources.onServer(true);
  private final ClientResources clientResources = ClientResources.create();
  private LettuceConnectionFactory base;
  private ReactiveStringRedisTemplate shared;
  private LoopLocalRedis connections;

  @BeforeEach
  void redisRuns() {
    if (!REDIS.server().isRunning()) {
      REDIS.server().startAgain();
    }
    base = factory(REDIS.server());
    shared = new ReactiveStringRedisTemplate(base);
  }

  @AfterEach
  void closeEverything() {
    if (connections != null) {
      connections.close();
    }
    base.destroy();
    loopResources.disposeLater().block(Duration.ofSeconds(10));
    clientResources.shutdown(0, 2, TimeUnit.SECONDS);
  }

  @Test
  void aScriptFromAnEventLoopIsAnsweredOnThatLoop() throws Exception {
    connectEveryLoop();
    for (EventExecutor loop : loops) {
      Answer answer = runOn(loop);
      assertOnItsOwnConnection(answer);
    }
  }

  @Test
  void onClusterEachLoopIsAnsweredOnItsOwnConnectionToo() throws Exception {
    LettuceConnectionFactory cluster =
        started(
            new LettuceConnectionFactory(
                new RedisClusterConfiguration(SharedRedis.cluster().addresses()),
                clientConfiguration()));
    try {
      connections =
          LoopLocalRedis.perLoop(loops, cluster, new ReactiveStringRedisTemplate(cluster));

      await().atMost(Duration.ofSeconds(10)).until(() -> connections.loopsConnected() == 2);
      for (EventExecutor loop : loops) {
        Answer answer = runOn(loop);
        assertThat(answer.counted()).isPositive();
        assertThat(answer.repliedOn()).isSameAs(answer.sentFrom());
      }
    } finally {
      connections.close();
      connections = null;
      cluster.destroy();
    }
  }

  @Test
  void anyOtherThreadUsesTheSharedConnection() {
    connections = LoopLocalRedis.perLoop(loops, base, shared);

    assertThat(connections.current()).isInstanceOf(TemplateScriptConnection.class);
    Long counted = connections.current().run(SCRIPT, List.of("stl:test:other"), List.of()).block();
    assertThat(counted).isPositive();
  }

  @Test
  void aLoopWhoseConnectionCouldNotOpenUsesTheSharedOneUntilItOpens() throws Exception {
    REDIS.server().stop();
    connections = LoopLocalRedis.perLoop(loops, base, shared);
    // The first attempts (at once, then a second later) fail; the loops keep the shared one.
    await()
        .during(Duration.ofMillis(1_500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> connections.loopsConnected() == 0);
    for (EventExecutor loop : loops) {
      assertThat(loop.submit(connections::current).get(5, TimeUnit.SECONDS))
          .isInstanceOf(TemplateScriptConnection.class);
    }

    REDIS.server().startAgain();

    await().atMost(Duration.ofSeconds(10)).until(() -> connections.loopsConnected() == 2);
    for (EventExecutor loop : loops) {
      Answer answer = runOn(loop);
      assertOnItsOwnConnection(answer);
    }
  }

  @Test
  void afterRedisRestartsEachLoopIsAnsweredOnItsOwnConnectionAgain() throws Exception {
    connectEveryLoop();

    REDIS.server().restart();

    for (EventExecutor loop : loops) {
      Answer answer =
          await()
              .atMost(Duration.ofSeconds(15))
              .ignoreExceptions()
              .until(() -> runOn(loop), done -> done.counted() != null);
      assertOnItsOwnConnection(answer);
    }
  }

  @Test
  void theScriptsALoopSendsInOneTurnReachRedisInOneRead() throws Exception {
    connectEveryLoop();
    EventExecutor loop = loops.next();
    runOn(loop);

    try (RespConnection stats = REDIS.server().connect()) {
      long readsBefore = readsProcessed(stats);
      CompletableFuture<List<Long>> answers = new CompletableFuture<>();
      loop.execute(
          () ->
              Flux.range(0, 50)
                  .flatMap(
                      i -> connections.current().run(SCRIPT, List.of("stl:test:turn"), List.of()))
                  .collectList()
                  .subscribe(answers::complete, answers::completeExceptionally));
      assertThat(answers.get(10, TimeUnit.SECONDS)).hasSize(50);
      // one read for the 50 scripts and one for the INFO below; a write per script was read
      // in a few dozen reads here
      assertThat(readsProcessed(stats) - readsBefore).isLessThanOrEqualTo(3);
    }
  }

  private static long readsProcessed(RespConnection stats) {
    String info = (String) stats.call("INFO", "stats");
    return info.lines()
        .filter(line -> line.startsWith("total_reads_processed:"))
        .mapToLong(line -> Long.parseLong(line.substring(line.indexOf(':') + 1).strip()))
        .findFirst()
        .orElseThrow();
  }

  private void connectEveryLoop() {
    connections = LoopLocalRedis.perLoop(loops, base, shared);
    await().atMost(Duration.ofSeconds(10)).until(() -> connections.loopsConnected() == 2);
  }

  /** Sent on the loop's own connection, and answered on the loop it was sent from. */
  private void assertOnItsOwnConnection(Answer answer) {
    assertThat(answer.connection()).isInstanceOf(LettuceScriptConnection.class);
    assertThat(answer.repliedOn()).isSameAs(answer.sentFrom());
  }

  /** Runs the script from {@code loop}'s thread and notes where its reply arrived. */
  private Answer runOn(EventExecutor loop) throws Exception {
    CompletableFuture<Answer> answer = new CompletableFuture<>();
    loop.execute(
        () -> {
          Thread sentFrom = Thread.currentThread();
          ScriptConnection connection = connections.current();
          connection
              .run(SCRIPT, List.of("stl:test:" + sentFrom.getName()), List.of())
              .subscribe(
                  counted ->
                      answer.complete(
                          new Answer(connection, sentFrom, Thread.currentThread(), counted)),
                  answer::completeExceptionally);
        });
    return answer.get(10, TimeUnit.SECONDS);
  }

  private LettuceConnectionFactory factory(RedisServerProcess server) {
    return started(
        new LettuceConnectionFactory(
            new RedisStandaloneConfiguration(server.host(), server.port()), clientConfiguration()));
  }

  /** As Spring Boot builds it: with client resources of its own, for the loops to share. */
  private LettuceClientConfiguration clientConfiguration() {
    return LettuceClientConfiguration.builder()
        .clientResources(clientResources)
        .commandTimeout(Duration.ofSeconds(5))
        .build();
  }

  private static LettuceConnectionFactory started(LettuceConnectionFactory factory) {
    factory.afterPropertiesSet();
    factory.start();
    return factory;
  }

  private record Answer(
      ScriptConnection connection, Thread sentFrom, Thread repliedOn, Long counted) {}
}
