package io.simpletokenlimiter.limit.store.redis;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.LimitStoreContract;
import io.simpletokenlimiter.limit.store.memory.MemoryLimitStore;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * The store contract against the store the service really uses with Redis: a real redis-server
 * behind {@link ResilientLimitStore}, with the memory fallback of production. While Redis answers,
 * the guard must change nothing the contract can see.
 */
@Timeout(60)
class ResilientRedisStoreTest extends LimitStoreContract {

  private static LettuceConnectionFactory connections;
  private static ResilientLimitStore store;

  @BeforeAll
  static void connect() {
    connections = RedisConnections.standalone(SharedRedis.standalone());
    store =
        ResilientLimitStore.withFallback(
            new RedisLimitStore(connections, SEOUL),
            new MemoryLimitStore(Integer.MAX_VALUE, new SimpleMeterRegistry(), SEOUL),
            () -> 1,
            Clock.systemUTC(),
            Duration.ofSeconds(5),
            CircuitBreaker.ofDefaults("redis"),
            new SimpleMeterRegistry());
  }

  @AfterAll
  static void disconnect() {
    connections.destroy();
  }

  @Override
  protected LimitStore store() {
    return store;
  }
}
