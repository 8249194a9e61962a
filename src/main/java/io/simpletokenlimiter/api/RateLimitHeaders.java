package io.simpletokenlimiter.api;

import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.Quota;
import io.simpletokenlimiter.limit.UsageWarnings;
import org.springframework.http.HttpHeaders;

/**
 * The headers OpenAI clients read to pace themselves: {@code x-ratelimit-*} on every answer after a
 * decision, and on 429 the wait ({@code Retry-After}, {@code retry-after-ms}) that openai SDKs
 * honour before retrying.
 */
final class RateLimitHeaders {

  /**
   * Past this wait, openai-java would sleep inside the call: tell it not to retry. A month's limit
   * says so however close its reset is: the quota is spent, which a client should not paper over.
   */
  static final long LONGEST_WORTH_RETRYING_SECONDS = 60;

  /**
   * Set when the window closest to its limit has passed a warning threshold, e.g. {@code
   * month;scope=team;threshold=95;used=96}: which window, whose, the threshold reached and the
   * share used, in percent.
   */
  static final String WARNING = "x-ratelimit-warning";

  private RateLimitHeaders() {}

  static String warning(UsageWarnings.Warning warning) {
    return warning.window().label()
        + ";scope="
        + warning.scope().label()
        + ";threshold="
        + warning.threshold()
        + ";used="
        + warning.usedPercent();
  }

  static HttpHeaders of(Quota quota) {
    HttpHeaders headers = new HttpHeaders();
    writeTo(headers, quota);
    return headers;
  }

  /** Sets the {@code x-ratelimit-*} headers of {@code quota} on {@code headers} directly. */
  static void writeTo(HttpHeaders headers, Quota quota) {
    if (quota.limitTokens() != Limits.UNLIMITED) {
      headers.set("x-ratelimit-limit-tokens", Long.toString(quota.limitTokens()));
      headers.set("x-ratelimit-remaining-tokens", Long.toString(quota.remainingTokens()));
      headers.set("x-ratelimit-reset-tokens", GoDuration.format(quota.resetMillis()));
    }
    headers.set("x-ratelimit-limit-requests", Integer.toString(quota.maxConcurrent()));
    headers.set(
        "x-ratelimit-remaining-requests",
        Integer.toString(Math.max(0, quota.maxConcurrent() - quota.inFlight())));
  }

  static HttpHeaders of(Admission.Rejected rejected) {
    HttpHeaders headers = of(rejected.quota());
    long seconds = retryAfterSeconds(rejected);
    headers.set(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
    headers.set("retry-after-ms", Long.toString(Math.max(1, rejected.retryAfterMillis())));
    if (seconds > LONGEST_WORTH_RETRYING_SECONDS || rejected.limitType() == LimitType.MONTH) {
      headers.set("x-should-retry", "false");
    }
    return headers;
  }

  /** Whole seconds, rounded up, at least one: a client waiting less would be rejected again. */
  static long retryAfterSeconds(Admission.Rejected rejected) {
    return Math.max(1, Math.floorDiv(rejected.retryAfterMillis() + 999, 1000));
  }
}
