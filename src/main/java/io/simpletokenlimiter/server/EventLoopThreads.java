package io.simpletokenlimiter.server;

import java.util.Properties;

/**
 * How many event loops serve HTTP, both the clients' requests and the vLLM client, which shares
 * them. Reactor Netty starts {@code max(cores, 4)}: on a 2-core host four loops, Lettuce's own loop
 * and Redis then take turns on two cores, and every request pays for it in context switches and
 * cold caches. One loop per core instead: measured on 2 cores under {@code wrk} with Redis, vLLM's
 * stand-in and the load on the same host, the Redis store went from about 1,260 to 2,420 requests a
 * second and the memory store from 4,400 to 5,800, at half the CPU per request
 * (docs/benchmarks/side-by-side.md).
 *
 * <p>Reactor Netty reads the count once, when its loops start: {@code main} sets it before anything
 * else runs. An operator's {@code -Dreactor.netty.ioWorkerCount=N} wins.
 */
public final class EventLoopThreads {

  static final String PROPERTY = "reactor.netty.ioWorkerCount";

  private EventLoopThreads() {}

  /** One event loop per core the JVM may use (its container's CPU limit, if any). */
  public static void onePerCore() {
    onePerCore(System.getProperties(), Runtime.getRuntime().availableProcessors());
  }

  /** The number of event loops: the operator's, else one per core. */
  static int count() {
    return Integer.getInteger(PROPERTY, perCore(Runtime.getRuntime().availableProcessors()));
  }

  static void onePerCore(Properties properties, int cores) {
    if (properties.getProperty(PROPERTY) == null) {
      properties.setProperty(PROPERTY, Integer.toString(perCore(cores)));
    }
  }

  private static int perCore(int cores) {
    return Math.max(1, cores);
  }
}
