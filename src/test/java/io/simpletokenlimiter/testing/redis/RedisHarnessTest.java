package io.simpletokenlimiter.testing.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class RedisHarnessTest {

  @Test
  void embeddedBinaryFromTheJarRunsRedis62() {
    try (RedisServerProcess server =
        RedisServerProcess.start(RedisExecutable.resolve("embedded"))) {
      assertThat(server.version()).startsWith("6.2");
      try (RespConnection connection = server.connect()) {
        assertThat(connection.call("SET", "k", "v")).isEqualTo("OK");
        assertThat(connection.call("GET", "k")).isEqualTo("v");
      }
    }
  }

  @Test
  void redisOnPathIsPreferredWhenThere() {
    assumeTrue(isOnPath(), "no redis-server on PATH: only the embedded binary can be tested here");
    try (RedisServerProcess server = RedisServerProcess.start(RedisExecutable.resolve("path"))) {
      assertThat(server.version()).doesNotStartWith("6.2");
    }
  }

  @Test
  void anExplicitPathThatIsNotAnExecutableIsRefusedClearly() {
    assertThatThrownBy(() -> RedisExecutable.resolve("/nonexistent/redis-server"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is not an executable");
  }

  @Test
  void restartComesBackEmptyOnTheSamePort() {
    try (RedisServerProcess server = RedisServerProcess.start()) {
      int port = server.port();
      try (RespConnection connection = server.connect()) {
        connection.call("SET", "k", "v");
      }

      server.stop();
      assertThat(server.isRunning()).isFalse();
      assertThatThrownBy(server::connect).hasMessageContaining("cannot connect");

      server.startAgain();
      assertThat(server.port()).isEqualTo(port);
      try (RespConnection connection = server.connect()) {
        assertThat(connection.call("GET", "k")).isEqualTo("");
        assertThat(connection.call("DBSIZE")).isEqualTo(0L);
      }
    }
  }

  @Test
  void startingTwiceIsAnError() {
    try (RedisServerProcess server = RedisServerProcess.start()) {
      assertThatThrownBy(server::startAgain).hasMessageContaining("already running");
    }
  }

  @Test
  void errorRepliesAreThrown() {
    try (RedisServerProcess server = RedisServerProcess.start();
        RespConnection connection = server.connect()) {
      assertThatThrownBy(() -> connection.call("NOSUCHCOMMAND"))
          .isInstanceOf(RespConnection.RedisErrorReply.class)
          .hasMessageContaining("unknown command");
    }
  }

  @Test
  void clusterOfThreeMastersCoversEverySlot() {
    try (RedisTestCluster cluster = RedisTestCluster.start()) {
      assertThat(cluster.addresses()).hasSize(3);
      for (RedisServerProcess node : cluster.nodes()) {
        try (RespConnection connection = node.connect()) {
          String info = connection.callString("CLUSTER", "INFO");
          assertThat(info).contains("cluster_state:ok", "cluster_slots_assigned:16384");
          @SuppressWarnings("unchecked")
          List<Object> slots = (List<Object>) connection.call("CLUSTER", "SLOTS");
          assertThat(slots).hasSize(3);
        }
      }
      // Keys of one hash tag share a slot; a node refuses a key whose slot it does not own.
      try (RespConnection connection = cluster.nodes().get(0).connect()) {
        assertThat(connection.callLong("CLUSTER", "KEYSLOT", "stl:{alice}:leases"))
            .isEqualTo(connection.callLong("CLUSTER", "KEYSLOT", "stl:{alice}:buckets"));
        String foreignKey = "user-1";
        for (int i = 2; connection.callLong("CLUSTER", "KEYSLOT", foreignKey) < 5461; i++) {
          foreignKey = "user-" + i;
        }
        String key = foreignKey;
        assertThatThrownBy(() -> connection.call("SET", key, "v")).hasMessageStartingWith("MOVED");
      }
    }
  }

  private static boolean isOnPath() {
    try {
      RedisExecutable.resolve("path");
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }
}
