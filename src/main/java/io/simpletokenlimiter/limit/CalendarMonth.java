package io.simpletokenlimiter.limit;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * Calendar months in the operator's time zone: a monthly quota resets at local midnight on the 1st.
 * Unlike the rolling windows, a month is one bucket: everything charged in it counts until it ends.
 */
public final class CalendarMonth {

  public static final CalendarMonth UTC = new CalendarMonth(ZoneOffset.UTC);

  private final ZoneId zone;

  /** The month last asked for: nearly every call falls in it, so no calendar arithmetic then. */
  private volatile Span latest = new Span(0, 0);

  public CalendarMonth(ZoneId zone) {
    this.zone = zone;
  }

  public ZoneId zone() {
    return zone;
  }

  /** The month that holds {@code nowMillis}. */
  public Span at(long nowMillis) {
    Span span = latest;
    if (span.contains(nowMillis)) {
      return span;
    }
    ZonedDateTime start =
        Instant.ofEpochMilli(nowMillis)
            .atZone(zone)
            .toLocalDate()
            .withDayOfMonth(1)
            .atStartOfDay(zone);
    span =
        new Span(start.toInstant().toEpochMilli(), start.plusMonths(1).toInstant().toEpochMilli());
    latest = span;
    return span;
  }

  /** One calendar month, {@code [startMillis, endMillis)}. */
  public record Span(long startMillis, long endMillis) {

    public boolean contains(long millis) {
      return millis >= startMillis && millis < endMillis;
    }
  }
}
