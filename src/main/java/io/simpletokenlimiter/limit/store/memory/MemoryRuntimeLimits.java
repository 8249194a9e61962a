package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.limit.RuntimeLimits;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import reactor.core.publisher.Mono;

/** Run-time limits of this replica alone: the memory store's companion. Lost on restart. */
public final class MemoryRuntimeLimits implements RuntimeLimits {

  /** Most users with run-time limits. */
  public static final int MAX_USERS = 100_000;

  private final ConcurrentMap<String, LimitOverride> byUser = new ConcurrentHashMap<>();

  @Override
  public Optional<LimitOverride> get(String userId) {
    return Optional.ofNullable(byUser.get(userId));
  }

  @Override
  public Mono<Void> put(String userId, LimitOverride override) {
    return Mono.fromRunnable(
        () -> {
          if (!byUser.containsKey(userId) && byUser.size() >= MAX_USERS) {
            throw new IllegalArgumentException(
                "at most " + MAX_USERS + " users can have run-time limits");
          }
          byUser.put(userId, override);
        });
  }

  @Override
  public Mono<Boolean> remove(String userId) {
    return Mono.fromSupplier(() -> byUser.remove(userId) != null);
  }

  @Override
  public Mono<Void> refresh() {
    return Mono.empty();
  }
}
