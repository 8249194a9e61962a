package io.simpletokenlimiter.testing.redis;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** A three-master Redis Cluster of the test class's own, formed before its first test. */
public final class RedisClusterExtension implements BeforeAllCallback, AfterAllCallback {

  private RedisTestCluster cluster;

  @Override
  public void beforeAll(ExtensionContext context) {
    cluster = RedisTestCluster.start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
  }

  public RedisTestCluster cluster() {
    if (cluster == null) {
      throw new IllegalStateException("the redis cluster runs only between beforeAll and afterAll");
    }
    return cluster;
  }
}
