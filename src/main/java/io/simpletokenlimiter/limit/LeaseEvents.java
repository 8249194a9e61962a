package io.simpletokenlimiter.limit;

/** What becomes of leases, for metrics and logs; the limiter itself needs none of it. */
public interface LeaseEvents {

  LeaseEvents NONE = new LeaseEvents() {};

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
