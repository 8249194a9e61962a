package io.simpletokenlimiter.limit.wait;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Whose turn it is among users with waiting requests: round-robin, each user taking {@code share}
 * turns in a row before the next. A user with fifty waiting requests gets no more turns than one
 * with a single request of the same share. Not thread-safe: its owner locks.
 */
final class WeightedTurns {

  private final Deque<String> ring = new ArrayDeque<>();
  private final Map<String, Integer> turnsLeft = new HashMap<>();
  private final Map<String, Integer> shares = new HashMap<>();

  /** {@code userId} now has a waiting request; a newcomer joins at the end of the round. */
  void join(String userId, int share) {
    if (shares.putIfAbsent(userId, share) == null) {
      ring.addLast(userId);
      turnsLeft.put(userId, share);
    }
  }

  /** The user whose turn it is, or null when nobody waits. */
  String current() {
    return ring.peekFirst();
  }

  boolean isEmpty() {
    return ring.isEmpty();
  }

  /** The current user was served; {@code stillWaiting} says whether it has more requests. */
  void served(String userId, boolean stillWaiting) {
    if (!userId.equals(ring.peekFirst())) {
      return;
    }
    int left = turnsLeft.merge(userId, -1, Integer::sum);
    if (!stillWaiting) {
      leave(userId);
    } else if (left <= 0) {
      ring.removeFirst();
      ring.addLast(userId);
      turnsLeft.put(userId, shares.get(userId));
    }
  }

  /** {@code userId} has no waiting request any more. */
  void leave(String userId) {
    if (shares.remove(userId) != null) {
      ring.remove(userId);
      turnsLeft.remove(userId);
    }
  }
}
