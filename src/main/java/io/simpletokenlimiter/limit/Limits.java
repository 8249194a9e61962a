package io.simpletokenlimiter.limit;

/**
 * One user's limits. A token limit of {@link #UNLIMITED} switches that window off; the concurrency
 * limit is always set.
 */
public record Limits(
    long tokensPerMinute,
    long tokensPerHour,
    long tokensPerDay,
    long tokensPerMonth,
    int maxConcurrent) {

  public static final long UNLIMITED = -1;

  /**
   * The largest token limit. The Redis store's Lua scripts count in doubles, exact only up to 2^53
   * (about 9 * 10^15); this bound leaves room for the sums they add to a limit.
   */
  public static final long MAX_TOKENS = 1_000_000_000_000_000L;

  public Limits {
    requireTokenLimit("tokens per minute limit", tokensPerMinute);
    requireTokenLimit("tokens per hour limit", tokensPerHour);
    requireTokenLimit("tokens per day limit", tokensPerDay);
    requireTokenLimit("tokens per month limit", tokensPerMonth);
    if (maxConcurrent < 1) {
      throw new IllegalArgumentException(
          "concurrent requests limit must be at least 1, was " + maxConcurrent);
    }
  }

  /** Without a monthly quota. */
  public Limits(long tokensPerMinute, long tokensPerHour, long tokensPerDay, int maxConcurrent) {
    this(tokensPerMinute, tokensPerHour, tokensPerDay, UNLIMITED, maxConcurrent);
  }

  /** The one rule for a token limit, wherever it is set: {@code name} says where. */
  public static void requireTokenLimit(String name, long value) {
    if (value < 1 && value != UNLIMITED) {
      throw new IllegalArgumentException(
          name + " must be at least 1, or -1 for unlimited, was " + value);
    }
    if (value > MAX_TOKENS) {
      throw new IllegalArgumentException(
          name + " must be at most " + MAX_TOKENS + ", or -1 for unlimited, was " + value);
    }
  }

  public long tokens(Window window) {
    return switch (window) {
      case MINUTE -> tokensPerMinute;
      case HOUR -> tokensPerHour;
      case DAY -> tokensPerDay;
    };
  }

  public boolean limits(Window window) {
    return tokens(window) != UNLIMITED;
  }

  public boolean limitsMonth() {
    return tokensPerMonth != UNLIMITED;
  }
}
