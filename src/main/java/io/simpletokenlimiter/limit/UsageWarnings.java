package io.simpletokenlimiter.limit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warnings before the hard stop: after an admission, whether the window closest to its limit (the
 * user's or their team's, whichever has less room) has passed a configured share of it, such as 80
 * % or 95 %. Every such answer carries the warning; the first crossing of a threshold by one user
 * in one period of one window (one window length for a rolling window, the calendar month for the
 * month) is logged once, as one structured line, and reported as {@link Warning#firstInPeriod}.
 */
public final class UsageWarnings {

  private static final Logger log = LoggerFactory.getLogger(UsageWarnings.class);

  /** The most (user, scope, window, threshold) crossings remembered; the oldest are dropped. */
  static final int REMEMBERED = 100_000;

  private final List<Integer> thresholds;
  private final CalendarMonth calendar;

  /** Key "user|scope|window|threshold" to the period it was last reported in. */
  private final Map<String, Long> reported =
      new LinkedHashMap<>(1_024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
          return size() > REMEMBERED;
        }
      };

  /**
   * @param thresholds percents of a limit, 1 to 100; none switches warnings off
   */
  public UsageWarnings(List<Integer> thresholds, CalendarMonth calendar) {
    for (int threshold : thresholds) {
      if (threshold < 1 || threshold > 100) {
        throw new IllegalArgumentException(
            "token.limit.warning-thresholds must be percents from 1 to 100, was " + threshold);
      }
    }
    this.thresholds = thresholds.stream().sorted().distinct().toList();
    this.calendar = calendar;
  }

  /** A threshold the user's or team's window has reached, after this admission. */
  public record Warning(
      LimitType window, LimitScope scope, int threshold, int usedPercent, boolean firstInPeriod) {}

  /** The highest threshold {@code quota} has reached, if any. */
  public Optional<Warning> check(String userId, Quota quota, long nowMillis) {
    if (thresholds.isEmpty() || quota.limitTokens() <= 0) {
      return Optional.empty();
    }
    long used = quota.limitTokens() - quota.remainingTokens();
    int usedPercent = (int) Math.min(100, used * 100 / quota.limitTokens());
    Integer reached = null;
    for (int threshold : thresholds) {
      if (usedPercent >= threshold) {
        reached = threshold;
      }
    }
    if (reached == null) {
      return Optional.empty();
    }
    long period = periodOf(quota.tightest(), nowMillis);
    String key =
        userId + "|" + quota.scope().label() + "|" + quota.tightest().label() + "|" + reached;
    boolean first;
    synchronized (reported) {
      Long previous = reported.put(key, period);
      first = previous == null || previous != period;
    }
    if (first) {
      log.info(
          "usage_warning user={} scope={} window={} threshold={} used_percent={} limit={}",
          userId,
          quota.scope().label(),
          quota.tightest().label(),
          reached,
          usedPercent,
          quota.limitTokens());
    }
    return Optional.of(new Warning(quota.tightest(), quota.scope(), reached, usedPercent, first));
  }

  private long periodOf(LimitType window, long nowMillis) {
    for (Window rolling : Window.values()) {
      if (rolling.limitType() == window) {
        return Math.floorDiv(nowMillis, rolling.lengthMillis());
      }
    }
    return calendar.at(nowMillis).startMillis();
  }
}
