package io.simpletokenlimiter.limit;

import java.util.Locale;

/** Where an effective limit comes from, lowest layer first. */
public enum LimitSource {
  DEFAULT,
  TIER,
  FILE,
  RUNTIME;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
