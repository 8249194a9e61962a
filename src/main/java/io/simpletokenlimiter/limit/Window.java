package io.simpletokenlimiter.limit;

/**
 * A rolling token window made of fixed sub-buckets.
 *
 * <p>Bucket {@code b} covers {@code [b * bucketMillis, (b + 1) * bucketMillis)}. At time {@code
 * now} the buckets from {@code floor(now / bucketMillis) - bucketsPerWindow} on are counted: a
 * bucket stays counted until its whole span has left the window, so the count over-counts by at
 * most one bucket span and never under-counts. Buckets with a larger index than the current one
 * (written by a replica whose clock runs ahead) are counted too, so clock skew can only over-count.
 */
public enum Window {
  MINUTE(LimitType.MINUTE, 60_000L, 1_000L),
  HOUR(LimitType.HOUR, 3_600_000L, 60_000L),
  DAY(LimitType.DAY, 86_400_000L, 900_000L);

  private final LimitType limitType;
  private final long lengthMillis;
  private final long bucketMillis;

  Window(LimitType limitType, long lengthMillis, long bucketMillis) {
    this.limitType = limitType;
    this.lengthMillis = lengthMillis;
    this.bucketMillis = bucketMillis;
  }

  public LimitType limitType() {
    return limitType;
  }

  public long lengthMillis() {
    return lengthMillis;
  }

  public long bucketMillis() {
    return bucketMillis;
  }

  /** Buckets in one window length; one more than this is counted at any time. */
  public long bucketsPerWindow() {
    return lengthMillis / bucketMillis;
  }

  public long bucketAt(long nowMillis) {
    return Math.floorDiv(nowMillis, bucketMillis);
  }

  /** The oldest bucket still counted at {@code nowMillis}. */
  public long oldestCountedBucket(long nowMillis) {
    return bucketAt(nowMillis) - bucketsPerWindow();
  }

  /** The first instant at which {@code bucket} is no longer counted. */
  public long expiryOf(long bucket) {
    return (bucket + bucketsPerWindow() + 1) * bucketMillis;
  }
}
