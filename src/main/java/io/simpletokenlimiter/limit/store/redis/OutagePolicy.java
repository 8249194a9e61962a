package io.simpletokenlimiter.limit.store.redis;

/** What the limiter does while Redis cannot answer (SPEC §6). */
public enum OutagePolicy {
  /** Refuse to decide: admissions fail as store-unavailable, which the API maps to 503. */
  FAIL_CLOSED("fail-closed"),
  /**
   * Decide with this replica's in-memory counters: the service keeps serving, each replica
   * enforcing the limits on its own, so N replicas may together let a user use up to N times a
   * limit while Redis is down.
   */
  FALLBACK_MEMORY("fallback-memory");

  private final String label;

  OutagePolicy(String label) {
    this.label = label;
  }

  /** The value as written in configuration and in metric tags. */
  public String label() {
    return label;
  }
}
