package io.simpletokenlimiter.limit.store.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;

/**
 * Scripts straight through Lettuce's asynchronous commands on one open connection: the command is
 * written and its reply completed on the connection's own event loop, with none of the reactive
 * template's layers (a connection wrapper, a reactive publisher and a serialiser per call), which
 * cost a request on the Redis store about a fifth of its CPU.
 */
record LettuceScriptConnection(RedisClusterAsyncCommands<byte[], byte[]> commands)
    implements ScriptConnection {

  @Override
  public <T> Mono<T> run(RedisScript<T> script, List<String> keys, List<String> args) {
    byte[][] keyBytes = bytes(keys);
    byte[][] argBytes = bytes(args);
    ScriptOutputType output = outputOf(script);
    return Mono.<Object>fromCompletionStage(
            () -> commands.evalsha(script.getSha1(), output, keyBytes, argBytes))
        .onErrorResume(
            RedisNoScriptException.class,
            missing ->
                Mono.fromCompletionStage(
                    () -> commands.eval(script.getScriptAsString(), output, keyBytes, argBytes)))
        .map(reply -> script.getResultType().cast(strings(reply)));
  }

  private static ScriptOutputType outputOf(RedisScript<?> script) {
    Class<?> type = script.getResultType();
    if (type == Long.class) {
      return ScriptOutputType.INTEGER;
    }
    if (type == List.class) {
      return ScriptOutputType.MULTI;
    }
    throw new IllegalArgumentException("no script output for " + type);
  }

  private static byte[][] bytes(List<String> values) {
    byte[][] bytes = new byte[values.size()][];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = values.get(i).getBytes(StandardCharsets.UTF_8);
    }
    return bytes;
  }

  /** Bulk strings of a list reply, nested ones too, as Strings. */
  private static Object strings(Object reply) {
    if (reply instanceof byte[] bulk) {
      return new String(bulk, StandardCharsets.UTF_8);
    }
    if (reply instanceof List<?> list) {
      List<Object> converted = new ArrayList<>(list.size());
      for (Object element : list) {
        converted.add(strings(element));
      }
      return converted;
    }
    return reply;
  }
}
