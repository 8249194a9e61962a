package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.limit.RuntimeLimits;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.ClassPathResource;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Run-time limits shared by every replica through Redis: a hash {@code stl:{runtime-limits}:users}
 * of user to limits (the overrides file's fields as JSON) and a version counter {@code
 * stl:{runtime-limits}:version} that every write bumps. Admissions read this replica's copy; {@link
 * #refresh()}, run every {@code token.limit.runtime-limits-refresh}, reads the counter (one {@code
 * GET}) and the whole hash only when it moved. A write is thus seen at once by the replica that
 * made it and by every other within one refresh interval.
 */
public final class RedisRuntimeLimits implements RuntimeLimits {

  private static final Logger log = LoggerFactory.getLogger(RedisRuntimeLimits.class);

  /** Most users with run-time limits: bounds the hash and each replica's copy. */
  public static final int MAX_USERS = 100_000;

  static final String USERS = "stl:{runtime-limits}:users";
  static final String VERSION = "stl:{runtime-limits}:version";
  private static final TypeReference<Map<String, Object>> FIELDS = new TypeReference<>() {};

  private final ReactiveStringRedisTemplate redis;
  private final Duration timeout;
  private final JsonMapper json = JsonMapper.builder().build();
  private final RedisScript<Long> putScript = script("runtime-limits-put.lua");
  private final RedisScript<Long> removeScript = script("runtime-limits-remove.lua");
  private volatile Map<String, LimitOverride> view = Map.of();
  private volatile String viewVersion = "";
  private volatile boolean refreshFailing;

  public RedisRuntimeLimits(ReactiveStringRedisTemplate redis, Duration timeout) {
    this.redis = redis;
    this.timeout = timeout;
  }

  @Override
  public Optional<LimitOverride> get(String userId) {
    return Optional.ofNullable(view.get(userId));
  }

  @Override
  public Mono<Void> put(String userId, LimitOverride override) {
    String encoded = json.writeValueAsString(override.toMap());
    return guarded(
            redis
                .execute(
                    putScript,
                    List.of(USERS, VERSION),
                    List.of(userId, encoded, Integer.toString(MAX_USERS)))
                .single())
        .flatMap(
            version -> {
              if (version < 0) {
                return Mono.error(
                    new IllegalArgumentException(
                        "at most " + MAX_USERS + " users can have run-time limits"));
              }
              withLocal(userId, Optional.of(override));
              return Mono.<Void>empty();
            });
  }

  @Override
  public Mono<Boolean> remove(String userId) {
    return guarded(redis.execute(removeScript, List.of(USERS, VERSION), List.of(userId)).single())
        .map(
            removed -> {
              withLocal(userId, Optional.empty());
              return removed == 1L;
            });
  }

  @Override
  public Mono<Void> refresh() {
    return redis
        .opsForValue()
        .get(VERSION)
        .defaultIfEmpty("")
        .flatMap(
            version ->
                version.equals(viewVersion)
                    ? Mono.<Void>empty()
                    : redis
                        .<String, String>opsForHash()
                        .entries(USERS)
                        .collectMap(Map.Entry::getKey, Map.Entry::getValue)
                        // Parsing up to MAX_USERS entries stays off Lettuce's I/O thread.
                        .publishOn(Schedulers.parallel())
                        .doOnNext(entries -> replaceView(entries, version))
                        .then())
        .timeout(timeout)
        .doOnSuccess(
            done -> {
              if (refreshFailing) {
                log.info("Run-time limits read from Redis again");
                refreshFailing = false;
              }
            })
        .onErrorResume(
            error -> {
              if (!refreshFailing) {
                log.warn(
                    "Cannot read run-time limits from Redis; the last ones read stay: {}",
                    error.toString());
                refreshFailing = true;
              }
              return Mono.empty();
            });
  }

  private void replaceView(Map<String, String> entries, String version) {
    Map<String, LimitOverride> next = new HashMap<>();
    entries.forEach(
        (user, encoded) -> {
          try {
            Map<String, Object> fields = json.readValue(encoded, FIELDS);
            next.put(user, LimitOverride.parse(fields, true, "run-time limits of " + user));
          } catch (RuntimeException e) {
            log.error("Ignoring unreadable run-time limits of {}: {}", user, e.getMessage());
          }
        });
    view = Map.copyOf(next);
    viewVersion = version;
  }

  /** This replica sees its own write at once; the next refresh confirms it. */
  private synchronized void withLocal(String userId, Optional<LimitOverride> override) {
    Map<String, LimitOverride> next = new HashMap<>(view);
    override.ifPresentOrElse(value -> next.put(userId, value), () -> next.remove(userId));
    view = Map.copyOf(next);
    viewVersion = "";
  }

  private <T> Mono<T> guarded(Mono<T> call) {
    return call.timeout(timeout)
        .onErrorMap(
            e -> !(e instanceof IllegalArgumentException),
            e ->
                new StoreUnavailableException("run-time limits unavailable: " + e.getMessage(), e));
  }

  private static RedisScript<Long> script(String name) {
    try (InputStream in = new ClassPathResource("redis/" + name).getInputStream()) {
      return RedisScript.of(new String(in.readAllBytes(), StandardCharsets.UTF_8), Long.class);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Lua script redis/" + name, e);
    }
  }
}
