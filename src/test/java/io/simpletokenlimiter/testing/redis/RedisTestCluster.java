package io.simpletokenlimiter.testing.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A Redis Cluster of three masters (no replicas) formed without redis-cli: each node is given a
 * third of the 16384 slots with {@code CLUSTER ADDSLOTS}, the first node {@code MEET}s the others,
 * and the cluster is ready when every node reports {@code cluster_state:ok} and knows all three.
 */
public final class RedisTestCluster implements AutoCloseable {

  private static final int SLOTS = 16_384;
  private static final int MASTERS = 3;
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(30);

  private final List<RedisServerProcess> nodes;

  private RedisTestCluster(List<RedisServerProcess> nodes) {
    this.nodes = List.copyOf(nodes);
  }

  public static RedisTestCluster start() {
    List<RedisServerProcess> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < MASTERS; i++) {
        nodes.add(RedisServerProcess.startClusterNode());
      }
      RedisTestCluster cluster = new RedisTestCluster(nodes);
      cluster.form();
      return cluster;
    } catch (RuntimeException e) {
      nodes.forEach(RedisServerProcess::close);
      throw e;
    }
  }

  public List<RedisServerProcess> nodes() {
    return nodes;
  }

  /** {@code host:port} of every node, the seed list a cluster client needs. */
  public List<String> addresses() {
    return nodes.stream().map(RedisServerProcess::address).toList();
  }

  /** Removes every key on every node. */
  public void flushAll() {
    nodes.forEach(RedisServerProcess::flushAll);
  }

  private void form() {
    for (int i = 0; i < MASTERS; i++) {
      int from = i * SLOTS / MASTERS;
      int to = (i + 1) * SLOTS / MASTERS;
      List<Object> command = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
      for (int slot = from; slot < to; slot++) {
        command.add(slot);
      }
      try (RespConnection connection = nodes.get(i).connect()) {
        connection.call(command.toArray());
      }
    }
    try (RespConnection first = nodes.get(0).connect()) {
      for (RedisServerProcess node : nodes.subList(1, nodes.size())) {
        first.call("CLUSTER", "MEET", node.host(), node.port());
      }
    }
    awaitFormed();
  }

  private void awaitFormed() {
    long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (nodes.stream().allMatch(RedisTestCluster::isReady)) {
        return;
      }
      RedisServerProcess.sleep(Duration.ofMillis(50));
    }
    StringBuilder states = new StringBuilder();
    for (RedisServerProcess node : nodes) {
      states.append(node.address()).append(":\n").append(clusterInfo(node)).append(node.logs());
    }
    throw new IllegalStateException(
        "redis cluster did not reach cluster_state:ok within " + FORM_TIMEOUT + "\n" + states);
  }

  private static boolean isReady(RedisServerProcess node) {
    String info = clusterInfo(node);
    return info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:" + MASTERS);
  }

  private static String clusterInfo(RedisServerProcess node) {
    try (RespConnection connection = node.connect()) {
      return connection.callString("CLUSTER", "INFO");
    } catch (RuntimeException e) {
      return "(CLUSTER INFO failed: " + e.getMessage() + ")\n";
    }
  }

  @Override
  public void close() {
    nodes.forEach(RedisServerProcess::close);
  }
}
