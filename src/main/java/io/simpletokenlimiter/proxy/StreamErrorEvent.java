package io.simpletokenlimiter.proxy;

import java.nio.charset.StandardCharsets;

/**
 * The last event of a stream that vLLM broke off (or that ran past its budget), once the status
 * line has gone out and no error status can be sent: the same JSON as every error body.
 */
final class StreamErrorEvent {

  static final byte[] BYTES =
      ("data: {\"error\":\"model_service_error\","
              + "\"message\":\"Model service is temporarily unavailable\"}\n\n")
          .getBytes(StandardCharsets.UTF_8);

  private StreamErrorEvent() {}
}
