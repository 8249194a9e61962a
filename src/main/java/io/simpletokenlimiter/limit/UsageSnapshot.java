package io.simpletokenlimiter.limit;

/** Tokens counted against a user in each window (in-flight reservations included). */
public record UsageSnapshot(long minute, long hour, long day, int inFlight) {

  public static final UsageSnapshot EMPTY = new UsageSnapshot(0, 0, 0, 0);

  public long tokens(Window window) {
    return switch (window) {
      case MINUTE -> minute;
      case HOUR -> hour;
      case DAY -> day;
    };
  }
}
