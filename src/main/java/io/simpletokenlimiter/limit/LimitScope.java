package io.simpletokenlimiter.limit;

/** Whose limit blocked a request, named as clients see it in {@code scope}. */
public enum LimitScope {
  USER("user"),
  TEAM("team");

  private final String label;

  LimitScope(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }
}
