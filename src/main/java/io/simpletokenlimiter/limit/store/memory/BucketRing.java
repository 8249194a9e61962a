package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.Window;
import java.util.Arrays;

/**
 * The buckets of one {@link Window} for one user: a ring of {@code bucketsPerWindow + 1} slots,
 * exactly the buckets that can be counted at once. A slot whose bucket id is older than the window
 * is stale and reads as empty until it is reused. Times must not go backwards (the ledger
 * guarantees it), or a newer bucket could be overwritten by an older one.
 */
final class BucketRing {

  private static final long NO_BUCKET = Long.MIN_VALUE;

  private final Window window;
  private final long[] bucketIds;
  private final long[] tokens;

  BucketRing(Window window) {
    this.window = window;
    int slots = Math.toIntExact(window.bucketsPerWindow() + 1);
    this.bucketIds = new long[slots];
    this.tokens = new long[slots];
    Arrays.fill(bucketIds, NO_BUCKET);
  }

  void add(long nowMillis, long amount) {
    long bucket = window.bucketAt(nowMillis);
    int slot = slotOf(bucket);
    if (bucketIds[slot] != bucket) {
      bucketIds[slot] = bucket;
      tokens[slot] = 0;
    }
    tokens[slot] += amount;
  }

  long counted(long nowMillis) {
    long oldest = window.oldestCountedBucket(nowMillis);
    long sum = 0;
    for (int slot = 0; slot < bucketIds.length; slot++) {
      if (bucketIds[slot] >= oldest) {
        sum += tokens[slot];
      }
    }
    return sum;
  }

  /**
   * Time until the buckets expiring first have freed at least {@code need} tokens, or -1 if all
   * counted buckets together hold less than that.
   */
  long millisUntilFreed(long nowMillis, long need) {
    long freed = 0;
    for (long bucket = window.oldestCountedBucket(nowMillis);
        bucket <= window.bucketAt(nowMillis);
        bucket++) {
      int slot = slotOf(bucket);
      if (bucketIds[slot] == bucket) {
        freed += tokens[slot];
        if (freed >= need) {
          return window.expiryOf(bucket) - nowMillis;
        }
      }
    }
    return -1;
  }

  /** Time until every counted token of this window has expired; 0 when none is counted. */
  long millisUntilEmpty(long nowMillis) {
    for (long bucket = window.bucketAt(nowMillis);
        bucket >= window.oldestCountedBucket(nowMillis);
        bucket--) {
      int slot = slotOf(bucket);
      if (bucketIds[slot] == bucket && tokens[slot] > 0) {
        return window.expiryOf(bucket) - nowMillis;
      }
    }
    return 0;
  }

  private int slotOf(long bucket) {
    return (int) Math.floorMod(bucket, (long) bucketIds.length);
  }
}
