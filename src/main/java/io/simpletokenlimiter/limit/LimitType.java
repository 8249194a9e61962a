package io.simpletokenlimiter.limit;

/** The limit that blocked a request, named as clients see it in {@code limit_type}. */
public enum LimitType {
  MINUTE("minute"),
  HOUR("hour"),
  DAY("day"),
  MONTH("month"),
  CONCURRENT("concurrent"),
  /** The model's capacity ({@code token.limit.upstream.max-in-flight}), shared by every user. */
  CAPACITY("capacity");

  private final String label;

  LimitType(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }
}
