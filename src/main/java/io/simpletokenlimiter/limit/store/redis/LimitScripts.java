package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.Window;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.StringJoiner;
import org.springframework.core.io.ClassPathResource;
import org.springframework.data.redis.core.script.RedisScript;

/**
 * The Lua scripts of the Redis store, read once from {@code src/main/resources/redis}. Each script
 * is the shared {@code prelude.lua} followed by its own body: Redis has no include, and one prelude
 * keeps the key layout and window arithmetic in a single place. The windows' spans are written
 * above the prelude from {@link Window}, not passed with every call. A script runs by its SHA1, and
 * its text is sent only when Redis answers NOSCRIPT (after a restart or flush): {@link
 * ScriptConnection}.
 */
@SuppressWarnings("rawtypes")
record LimitScripts(
    RedisScript<List> admit,
    RedisScript<Long> settle,
    RedisScript<Long> renew,
    RedisScript<List> usage,
    RedisScript<Long> forget,
    RedisScript<List> carryRead,
    RedisScript<Long> carryIn,
    RedisScript<Long> carrySubtract,
    RedisScript<Long> chargeOnce) {

  static LimitScripts load() {
    String prelude = windowSpans() + read("prelude.lua");
    return new LimitScripts(
        script(prelude, "admit.lua", List.class),
        script(prelude, "settle.lua", Long.class),
        script(prelude, "renew.lua", Long.class),
        script(prelude, "usage.lua", List.class),
        script(prelude, "forget.lua", Long.class),
        script(prelude, "carry-read.lua", List.class),
        script(prelude, "carry-in.lua", Long.class),
        script(prelude, "carry-subtract.lua", Long.class),
        script(prelude, "charge-once.lua", Long.class));
  }

  /**
   * The windows as the prelude's first line, shortest first: {@code local WINDOW_SPANS = {{'m',
   * 1000, 60}, ...}} (field prefix, bucket millis, buckets per window).
   */
  static String windowSpans() {
    StringJoiner spans = new StringJoiner(", ", "local WINDOW_SPANS = {", "}\n");
    for (Window window : Window.values()) {
      spans.add(
          "{'"
              + RedisLimitStore.prefix(window)
              + "', "
              + window.bucketMillis()
              + ", "
              + window.bucketsPerWindow()
              + "}");
    }
    return spans.toString();
  }

  private static <T> RedisScript<T> script(String prelude, String name, Class<T> resultType) {
    return RedisScript.of(prelude + read(name), resultType);
  }

  private static String read(String name) {
    try (InputStream in = new ClassPathResource("redis/" + name).getInputStream()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Lua script redis/" + name, e);
    }
  }
}
