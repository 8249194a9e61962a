package io.simpletokenlimiter.limit.wait;

import java.util.HashMap;
import java.util.Map;

/**
 * How many requests may wait on this replica, per user and in all: each holds an open connection
 * and a little memory, so a client flooding the queue is told 429 at once instead.
 */
final class WaitBounds {

  private final int perUser;
  private final int total;
  private final Map<String, Integer> byUser = new HashMap<>();
  private int waiting;

  WaitBounds(int perUser, int total) {
    this.perUser = perUser;
    this.total = total;
  }

  /** Counts one more waiting request of {@code userId}, unless a bound is reached. */
  synchronized boolean tryEnter(String userId) {
    int mine = byUser.getOrDefault(userId, 0);
    if (waiting >= total || mine >= perUser) {
      return false;
    }
    byUser.put(userId, mine + 1);
    waiting++;
    return true;
  }

  synchronized void leave(String userId) {
    byUser.computeIfPresent(userId, (user, mine) -> mine == 1 ? null : mine - 1);
    waiting--;
  }

  synchronized int waiting() {
    return waiting;
  }
}
