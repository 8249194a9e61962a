package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.simpletokenlimiter.testing.MutableClock;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/**
 * The count of live replicas an outage share is divided by, against a redis-server of its own (the
 * sorted set is one key for every replica of a Redis).
 */
@Timeout(30)
class ReplicaHeartbeatTest {

  private static RedisServerProcess redis;
  private static LettuceConnectionFactory connections;
  private static ReactiveStringRedisTemplate template;

  @BeforeAll
  static void start() {
    redis = RedisServerProcess.start();
    connections = RedisConnections.standalone(redis);
    template = new ReactiveStringRedisTemplate(connections);
  }

  @AfterAll
  static void stop() {
    connections.destroy();
    redis.close();
  }

  @BeforeEach
  void empty() {
    redis.flushAll();
  }

  @Test
  void aReplicaCountsTheOthersAtItsNextBeatAndDropsThoseSilentForFiveBeats() {
    MutableClock clock = new MutableClock(1_800_000_000_000L);
    ReplicaHeartbeat a = new ReplicaHeartbeat(template, clock, "a");
    ReplicaHeartbeat b = new ReplicaHeartbeat(template, clock, "b");

    a.beat().block();
    b.beat().block();
    assertThat(a.getAsInt()).as("before its next beat").isEqualTo(1);
    assertThat(b.getAsInt()).isEqualTo(2);
    a.beat().block();
    assertThat(a.getAsInt()).isEqualTo(2);

    // b falls silent
    clock.advance(ReplicaHeartbeat.BEAT.multipliedBy(ReplicaHeartbeat.SILENT_BEATS).minusMillis(1));
    a.beat().block();
    assertThat(a.getAsInt()).isEqualTo(2);
    clock.advance(Duration.ofMillis(1));
    a.beat().block();
    assertThat(a.getAsInt()).isEqualTo(1);
  }

  /**
   * A frozen Redis holds a beat for many beat periods: the heartbeat must go on once it thaws, not
   * have failed on the ticks that came meanwhile.
   */
  @Test
  void theHeartbeatGoesOnAfterRedisWasFrozenForManyBeats() throws Exception {
    Duration beat = Duration.ofMillis(20);
    ReplicaHeartbeat a = new ReplicaHeartbeat(template, Clock.systemUTC(), "a", beat);
    a.start();
    try {
      await().atMost(Duration.ofSeconds(3)).until(() -> a.getAsInt() == 1);
      redis.freeze();
      try {
        Thread.sleep(beat.multipliedBy(100).toMillis());
      } finally {
        redis.thaw();
      }
      // a counts b only if it still beats: b drops out 5 beats after its last
      ReplicaHeartbeat b = new ReplicaHeartbeat(template, Clock.systemUTC(), "b", beat);
      b.start();
      try {
        await().atMost(Duration.ofSeconds(5)).until(() -> a.getAsInt() == 2);
      } finally {
        b.stop();
      }
      assertThat(a.isRunning()).isTrue();
    } finally {
      a.stop();
    }
  }

  @Test
  void runningReplicasCountEachOtherWithinAFewSecondsAndAStoppedOneLeavesAtOnce() {
    ReplicaHeartbeat a = new ReplicaHeartbeat(template, Clock.systemUTC(), "a");
    ReplicaHeartbeat b = new ReplicaHeartbeat(template, Clock.systemUTC(), "b");
    a.start();
    b.start();
    try {
      await().atMost(Duration.ofSeconds(3)).until(() -> a.getAsInt() == 2 && b.getAsInt() == 2);
      b.stop();
      await().atMost(Duration.ofSeconds(3)).until(() -> a.getAsInt() == 1);
    } finally {
      a.stop();
      if (b.isRunning()) {
        b.stop();
      }
    }
  }
}
