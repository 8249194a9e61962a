package io.simpletokenlimiter.limit;

import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lease ids unique across replicas: a random prefix drawn once per replica, then a counter. A
 * random UUID per request would cost a SecureRandom draw (and its lock) on every admission.
 */
final class LeaseIds {

  private final String replica = UUID.randomUUID().toString().substring(0, 13);
  private final AtomicLong sequence = new AtomicLong();

  String next() {
    return replica + "-" + Long.toString(sequence.incrementAndGet(), 36);
  }
}
