package io.simpletokenlimiter.limit.store.redis;

import java.util.List;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;

/**
 * Where the store's Lua scripts run: a script by its SHA1, with its text only when Redis answers
 * NOSCRIPT (after a restart or flush). A list reply holds {@link Long}s and {@link String}s, as
 * Spring's string template answers it.
 */
interface ScriptConnection {

  <T> Mono<T> run(RedisScript<T> script, List<String> keys, List<String> args);
}
