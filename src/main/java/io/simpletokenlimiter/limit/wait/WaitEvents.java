package io.simpletokenlimiter.limit.wait;

import java.time.Duration;

/** What becomes of waiting requests, for metrics; the waiting itself needs none of it. */
public interface WaitEvents {

  /** A request stopped waiting after {@code waited}. */
  void waited(WaitOutcome outcome, Duration waited);

  /** How a wait ended. */
  enum WaitOutcome {
    ADMITTED("admitted"),
    /** Its wait ran out, or the room it waits for cannot come back within it: a 429. */
    REJECTED("rejected"),
    /** The client hung up while waiting. */
    CANCELLED("cancelled"),
    /** The store failed while the request waited. */
    FAILED("failed");

    private final String label;

    WaitOutcome(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }
}
