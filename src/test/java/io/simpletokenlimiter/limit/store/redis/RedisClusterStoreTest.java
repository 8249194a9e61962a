package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.LimitStoreContract;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/** The store contract against a real three-master Redis Cluster. */
@Timeout(60)
class RedisClusterStoreTest extends LimitStoreContract {

  private static LettuceConnectionFactory connections;
  private static RedisLimitStore store;

  @BeforeAll
  static void connect() {
    connections = RedisConnections.cluster(SharedRedis.cluster());
    store = new RedisLimitStore(connections, SEOUL);
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
