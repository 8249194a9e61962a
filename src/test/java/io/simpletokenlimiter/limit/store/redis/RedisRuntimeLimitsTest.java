package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/** Run-time limits of two replicas through one real redis-server. */
@Timeout(60)
class RedisRuntimeLimitsTest {

  private static final Duration BLOCK = Duration.ofSeconds(5);
  private static LettuceConnectionFactory connections;
  private static ReactiveStringRedisTemplate redis;

  @BeforeAll
  static void connect() {
    connections = RedisConnections.standalone(SharedRedis.standalone());
    redis = new ReactiveStringRedisTemplate(connections);
  }

  @AfterAll
  static void disconnect() {
    connections.destroy();
  }

  @Test
  void aChangeOnOneReplicaIsSeenAtOnceThereAndByTheOtherAfterItsRefresh() {
    RedisRuntimeLimits a = new RedisRuntimeLimits(redis, BLOCK);
    RedisRuntimeLimits b = new RedisRuntimeLimits(redis, BLOCK);
    String user = "rt-" + UUID.randomUUID();
    LimitOverride override =
        LimitOverride.parse(
            Map.of("max-tokens-per-minute", 300, "tier", "a tier, with: commas"), true, "test");
    b.refresh().block(BLOCK);

    a.put(user, override).block(BLOCK);

    assertThat(a.get(user)).contains(override);
    assertThat(b.get(user)).isEmpty();
    b.refresh().block(BLOCK);
    assertThat(b.get(user)).contains(override);

    assertThat(b.remove(user).block(BLOCK)).isTrue();
    assertThat(b.remove(user).block(BLOCK)).isFalse();
    assertThat(b.get(user)).isEmpty();
    a.refresh().block(BLOCK);
    assertThat(a.get(user)).isEmpty();
  }

  @Test
  void anUnreadableEntryIsSkippedAndTheOthersStay() {
    RedisRuntimeLimits a = new RedisRuntimeLimits(redis, BLOCK);
    String good = "rt-good-" + UUID.randomUUID();
    String bad = "rt-bad-" + UUID.randomUUID();
    a.put(good, LimitOverride.parse(Map.of("max-tokens-per-day", -1), true, "test")).block(BLOCK);
    redis.opsForHash().put(RedisRuntimeLimits.USERS, bad, "{\"max-tokens\": 3}").block(BLOCK);
    redis.opsForValue().increment(RedisRuntimeLimits.VERSION).block(BLOCK);

    RedisRuntimeLimits fresh = new RedisRuntimeLimits(redis, BLOCK);
    fresh.refresh().block(BLOCK);

    assertThat(fresh.get(good)).isPresent();
    assertThat(fresh.get(bad)).isEmpty();
    redis.opsForHash().remove(RedisRuntimeLimits.USERS, bad).block(BLOCK);
  }
}
