package io.simpletokenlimiter.limit;

/**
 * Units (weighted tokens) counted against a user or a team in each window and in the current
 * calendar month, in-flight reservations included.
 */
public record UsageSnapshot(long minute, long hour, long day, long month, int inFlight) {

  public static final UsageSnapshot EMPTY = new UsageSnapshot(0, 0, 0, 0, 0);

  public long tokens(Window window) {
    return switch (window) {
      case MINUTE -> minute;
      case HOUR -> hour;
      case DAY -> day;
    };
  }
}
