package io.simpletokenlimiter.limit;

/**
 * A rolling token window made of fixed sub-buckets.
 *
 * <p>Bucket {@code b} covers {@code [b * bucketMillis, (b + 1) * bucketMillis)} and remembers the
 * time of its latest charge. Its tokens are counted until one window length after that latest
 * charge ({@link #expiryOfChargeAt}): every charge in it is still counted as long as it is inside
 * the window, so the count never under-counts, and it over-counts by at most one bucket span (the
 * bucket's earlier charges). A rejection therefore never waits longer than the window length.
 * Buckets charged by a replica whose clock runs ahead are counted too, so clock skew can only
 * over-count.
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

  /** Buckets in one window length; one more than this can be counted at once. */
  public long bucketsPerWindow() {
    return lengthMillis / bucketMillis;
  }

  public long bucketAt(long nowMillis) {
    return Math.floorDiv(nowMillis, bucketMillis);
  }

  /** The first instant at which a bucket whose latest charge was at {@code chargedAt} is free. */
  public long expiryOfChargeAt(long chargedAtMillis) {
    return chargedAtMillis + lengthMillis;
  }
}
