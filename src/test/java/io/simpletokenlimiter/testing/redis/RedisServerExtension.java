package io.simpletokenlimiter.testing.redis;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A standalone Redis of the test class's own, started before its first test and killed after its
 * last, free to be stopped and restarted by the tests:
 *
 * <pre>{@code
 * @RegisterExtension static final RedisServerExtension REDIS = new RedisServerExtension();
 * ... REDIS.server().port(), REDIS.server().restart()
 * }</pre>
 */
public final class RedisServerExtension implements BeforeAllCallback, AfterAllCallback {

  private RedisServerProcess server;

  @Override
  public void beforeAll(ExtensionContext context) {
    server = RedisServerProcess.start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (server != null) {
      server.close();
      server = null;
    }
  }

  public RedisServerProcess server() {
    if (server == null) {
      throw new IllegalStateException("the redis server runs only between beforeAll and afterAll");
    }
    return server;
  }
}
