package io.simpletokenlimiter.limit.store.redis;

import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import java.util.List;

/**
 * The reply of {@code usage.lua}, by name: the counted units of each window (in {@link Window}
 * order, live reservations included) and of the month, then the live lease count.
 */
record UsageReply(long minute, long hour, long day, long month, int inFlight) {

  static UsageReply from(List<?> reply) {
    int windows = Window.values().length;
    if (reply.size() != windows + 2) {
      throw new IllegalStateException("usage.lua answered " + reply.size() + " values: " + reply);
    }
    return new UsageReply(
        AdmitReply.number(reply, Window.MINUTE.ordinal()),
        AdmitReply.number(reply, Window.HOUR.ordinal()),
        AdmitReply.number(reply, Window.DAY.ordinal()),
        AdmitReply.number(reply, windows),
        Math.toIntExact(AdmitReply.number(reply, windows + 1)));
  }

  UsageSnapshot snapshot() {
    return new UsageSnapshot(minute, hour, day, month, inFlight);
  }
}
