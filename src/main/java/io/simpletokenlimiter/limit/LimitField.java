package io.simpletokenlimiter.limit;

/** One limit a tier, the overrides file or the admin API can set, by its configuration name. */
public enum LimitField {
  MINUTE("max-tokens-per-minute", "tokens per minute limit"),
  HOUR("max-tokens-per-hour", "tokens per hour limit"),
  DAY("max-tokens-per-day", "tokens per day limit"),
  MONTH("max-tokens-per-month", "tokens per calendar month limit"),
  CONCURRENT("max-concurrent-requests", "concurrent requests limit");

  private final String key;
  private final String description;

  LimitField(String key, String description) {
    this.key = key;
    this.description = description;
  }

  /** The name in the overrides file and in the admin API's JSON. */
  public String key() {
    return key;
  }

  /** The field's value in {@code limits}. */
  public long of(Limits limits) {
    return switch (this) {
      case MINUTE -> limits.tokensPerMinute();
      case HOUR -> limits.tokensPerHour();
      case DAY -> limits.tokensPerDay();
      case MONTH -> limits.tokensPerMonth();
      case CONCURRENT -> limits.maxConcurrent();
    };
  }

  /** The one rule for each limit, wherever it is set. */
  void validate(long value) {
    if (this != CONCURRENT) {
      Limits.requireTokenLimit(description, value);
    } else if (value < 1 || value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          description + " must be between 1 and " + Integer.MAX_VALUE + ", was " + value);
    }
  }

  /** The field named {@code key}, or null. */
  static LimitField byKey(String key) {
    for (LimitField field : values()) {
      if (field.key.equals(key)) {
        return field;
      }
    }
    return null;
  }
}
