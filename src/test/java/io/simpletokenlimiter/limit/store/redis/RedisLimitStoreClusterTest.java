package io.simpletokenlimiter.limit.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.ReservationRequest;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.testing.redis.RedisConnections;
import io.simpletokenlimiter.testing.redis.RedisServerProcess;
import io.simpletokenlimiter.testing.redis.RedisTestCluster;
import io.simpletokenlimiter.testing.redis.RespConnection;
import io.simpletokenlimiter.testing.redis.SharedRedis;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisLimitStoreClusterTest extends RedisLimitStoreScenarios {

  static RedisTestCluster cluster;

  @BeforeAll
  static void connect() {
    cluster = SharedRedis.cluster();
    connections = RedisConnections.cluster(cluster);
  }

  @Override
  Object call(String key, Object... command) {
    long slot = slotOf(key);
    for (RedisServerProcess node : cluster.nodes()) {
      try (RespConnection connection = node.connect()) {
        if ((Long) connection.call("CLUSTER", "COUNTKEYSINSLOT", slot) > 0) {
          return connection.call(command);
        }
      }
    }
    throw new AssertionError("no node holds " + key);
  }

  private long slotOf(String key) {
    try (RespConnection connection = cluster.nodes().get(0).connect()) {
      return connection.callLong("CLUSTER", "KEYSLOT", key);
    }
  }

  @Test
  void theKeyOfAUserIsInTheSlotOfTheirHashTag() {
    assertThat(slotOf(RedisLimitStore.key(user))).isEqualTo(slotOf("{" + user + "}"));
  }

  @Test
  void usersSpreadOverEveryNode() {
    Set<Long> nodesUsed = new HashSet<>();
    for (int i = 0; i < 30; i++) {
      String someone = user + "-" + i;
      store
          .admit(
              new io.simpletokenlimiter.limit.store.AdmitCommand(
                  someone, "lease", ReservationRequest.fixed(0, 1, 10), LIMITS, T0, TTL))
          .block(BLOCK);
      assertThat(store.usage(someone, T0).block(BLOCK))
          .isEqualTo(new UsageSnapshot(10, 10, 10, 10, 1));
      nodesUsed.add(slotOf(RedisLimitStore.key(someone)) * 3 / 16_384);
    }

    assertThat(nodesUsed).hasSize(3);
  }
}
