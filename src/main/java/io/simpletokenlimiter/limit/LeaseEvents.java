package io.simpletokenlimiter.limit;

import java.util.List;

/** What becomes of leases, for metrics and logs; the limiter itself needs none of it. */
public interface LeaseEvents {

  LeaseEvents NONE = new LeaseEvents() {};

  /** Tells each of {@code listeners}, in order. */
  static LeaseEvents all(List<? extends LeaseEvents> listeners) {
    List<LeaseEvents> each = List.copyOf(listeners);
    return new LeaseEvents() {
      @Override
      public void settled(Lease lease, TokenUsage charged) {
        each.forEach(listener -> listener.settled(lease, charged));
      }

      @Override
      public void overReported(Lease lease, TokenUsage reported) {
        each.forEach(listener -> listener.overReported(lease, reported));
      }

      @Override
      public void releasedBySafetyNet(Lease lease) {
        each.forEach(listener -> listener.releasedBySafetyNet(lease));
      }
    };
  }

  /** A lease ended and {@code charged} was sent to its store. */
  default void settled(Lease lease, TokenUsage charged) {}

  /** vLLM reported more than was reserved; only the reservation was charged. */
  default void overReported(Lease lease, TokenUsage reported) {}

  /**
   * The renewal found a lease whose scope had closed without a settle and released it: some path
   * lost its settle, a bug to look at.
   */
  default void releasedBySafetyNet(Lease lease) {}
}
