package io.simpletokenlimiter.testing.redis;

/**
 * One standalone server and one cluster per test JVM, started on first use and killed when the JVM
 * exits, for tests that only need some Redis and may share it. Tests that stop or restart Redis
 * must start their own {@link RedisServerProcess} (or use {@link RedisServerExtension}).
 */
public final class SharedRedis {

  private static RedisServerProcess standalone;
  private static RedisTestCluster cluster;

  private SharedRedis() {}

  public static synchronized RedisServerProcess standalone() {
    if (standalone == null || !standalone.isRunning()) {
      standalone = RedisServerProcess.start();
    }
    return standalone;
  }

  public static synchronized RedisTestCluster cluster() {
    if (cluster == null) {
      cluster = RedisTestCluster.start();
    }
    return cluster;
  }
}
