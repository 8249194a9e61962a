package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.RollingWindowProperties;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/** The rolling-window properties against the Lua scripts on a real redis-server. */
@Timeout(120)
class RedisRollingWindowPropertyTest extends RollingWindowProperties {

  private LettuceConnectionFactory connections;
  private RedisLimitStore store;

  @BeforeAll
  void connect() {
    connections = RedisConnections.standalone(SharedRedis.standalone());
    store = new RedisLimitStore(connections);
  }

  @AfterAll
  void disconnect() {
    connections.destroy();
  }

  @Override
  protected LimitStore store() {
    return store;
  }

  @Override
  protected int tries() {
    return 40;
  }

  @Override
  protected int maxCharges() {
    return 120;
  }
}
