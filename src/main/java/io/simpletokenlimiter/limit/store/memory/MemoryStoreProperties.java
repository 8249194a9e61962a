package io.simpletokenlimiter.limit.store.memory;

import jakarta.validation.constraints.Min;
import java.util.Optional;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The in-memory store, under {@code token.limit.memory}.
 *
 * @param maxUsers the most users the store tracks at once (env {@code
 *     TOKEN_LIMIT_MEMORY_MAX_USERS}); unset: sized to the heap, see {@link #maxUsersFor(long)}
 */
@ConfigurationProperties("token.limit.memory")
@Validated
public record MemoryStoreProperties(@Min(1) Integer maxUsers) {

  /**
   * Heap budgeted per tracked user when the cap is sized to the heap: a user with a few requests
   * costs about 350 bytes, one active every minute of a day about 3 KB (docs/limits.md).
   */
  public static final long BUDGET_BYTES_PER_USER = 1_024;

  /** The share of the heap the store may use when the cap is sized to the heap: one half. */
  public static final int HEAP_SHARE_DIVISOR = 2;

  /** The configured cap, or {@code maxHeapBytes / 2 / 1 KB}: 262,144 users for a 512 MB heap. */
  public int maxUsersFor(long maxHeapBytes) {
    return Optional.ofNullable(maxUsers)
        .orElseGet(
            () ->
                (int)
                    Math.max(
                        1,
                        Math.min(
                            Integer.MAX_VALUE,
                            maxHeapBytes / HEAP_SHARE_DIVISOR / BUDGET_BYTES_PER_USER)));
  }
}
