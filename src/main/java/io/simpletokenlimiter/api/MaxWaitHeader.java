package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.QueueProperties;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/**
 * {@code X-Max-Wait: <seconds>}: how long a request may wait for room instead of a 429, decimals
 * allowed, cut to {@code token.limit.queue.max-wait-ceiling}; without it, {@code
 * token.limit.queue.max-wait}.
 */
@Component
class MaxWaitHeader {

  static final String NAME = "X-Max-Wait";

  private static final Pattern SECONDS = Pattern.compile("\\d{1,9}(\\.\\d{1,9})?|\\.\\d{1,9}");

  private final Duration defaultWait;
  private final Duration ceiling;

  MaxWaitHeader(QueueProperties queue) {
    this.defaultWait = queue.maxWait();
    this.ceiling = queue.maxWaitCeiling();
  }

  /** The wait {@code headers} ask for; a malformed one is a 400 {@code invalid_request}. */
  Duration of(HttpHeaders headers) {
    List<String> values = headers.getOrEmpty(NAME);
    if (values.isEmpty()) {
      return defaultWait;
    }
    String value = values.get(0).strip();
    if (values.size() > 1 || !SECONDS.matcher(value).matches()) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST,
          "invalid_request",
          NAME
              + " must be one number of seconds, such as 2 or 0.5; was "
              + String.join(", ", values));
    }
    long millis = new BigDecimal(value).movePointRight(3).longValue();
    Duration asked = Duration.ofMillis(millis);
    return asked.compareTo(ceiling) > 0 ? ceiling : asked;
  }
}
