package io.simpletokenlimiter.limit.store.redis;

import java.util.List;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;

/**
 * Scripts through Spring's reactive template, on the connection factory's shared connection: for
 * any thread, the loops' connections not open yet included. Opens the connection on first use
 * without blocking the caller.
 */
record TemplateScriptConnection(ReactiveStringRedisTemplate template) implements ScriptConnection {

  @Override
  public <T> Mono<T> run(RedisScript<T> script, List<String> keys, List<String> args) {
    return template.execute(script, keys, args).single();
  }
}
