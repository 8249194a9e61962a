package io.simpletokenlimiter.api;

/**
 * Formats a duration the way Go's {@code time.Duration.String()} does ({@code 6m0s}, {@code 1.5s},
 * {@code 250ms}, {@code 0s}): OpenAI's {@code x-ratelimit-reset-*} headers use it and clients parse
 * it.
 */
final class GoDuration {

  private GoDuration() {}

  static String format(long millis) {
    if (millis <= 0) {
      return "0s";
    }
    if (millis < 1000) {
      return millis + "ms";
    }
    long hours = millis / 3_600_000;
    long minutes = millis / 60_000 % 60;
    long wholeSeconds = millis / 1000 % 60;
    long fraction = millis % 1000;
    StringBuilder text = new StringBuilder();
    if (hours > 0) {
      text.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      text.append(minutes).append('m');
    }
    text.append(wholeSeconds);
    if (fraction > 0) {
      // Three digits without trailing zeros: 500 -> .5, 50 -> .05, 5 -> .005. Runs for every
      // answer, so no format string or regex.
      text.append('.').append((char) ('0' + fraction / 100));
      if (fraction % 100 > 0) {
        text.append((char) ('0' + fraction / 10 % 10));
        if (fraction % 10 > 0) {
          text.append((char) ('0' + fraction % 10));
        }
      }
    }
    return text.append('s').toString();
  }
}
