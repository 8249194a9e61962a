package io.simpletokenlimiter.upstream;

import java.io.ByteArrayOutputStream;
import org.springframework.http.MediaType;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * vLLM's answer once its status line has arrived. The body has not been read yet: it must be
 * consumed, or cancelled, which closes the connection so vLLM stops generating.
 *
 * @param contentType the upstream content type, {@code application/json} when it sent none
 * @param onAbandon closes the connection if the answer is still coming, for a reader that stops
 *     without its cancel reaching the body: a client write that fails or is cancelled does not
 *     always cancel what it was reading from
 */
public record UpstreamResponse(
    int status, MediaType contentType, Flux<byte[]> body, Runnable onAbandon) {

  /** The most of an error answer (vLLM's 4xx) that is relayed: they are a few hundred bytes. */
  public static final int ERROR_BODY_LIMIT = 64 * 1024;

  public boolean successful() {
    return status >= 200 && status < 300;
  }

  /**
   * The whole body at once, for JSON answers; fails with {@link AnswerTooLargeException} as soon as
   * more than {@code maxBytes} arrived, which cancels the rest.
   */
  public Mono<byte[]> bodyBytes(int maxBytes) {
    return body.scan(
            new ByteArrayOutputStream(),
            (buffer, chunk) -> {
              if (buffer.size() + chunk.length > maxBytes) {
                throw new AnswerTooLargeException(maxBytes);
              }
              buffer.writeBytes(chunk);
              return buffer;
            })
        .last(new ByteArrayOutputStream())
        .map(ByteArrayOutputStream::toByteArray);
  }

  /** vLLM's answer is larger than this replica buffers. */
  public static final class AnswerTooLargeException extends RuntimeException {

    AnswerTooLargeException(int maxBytes) {
      super("vLLM's answer is larger than " + maxBytes + " bytes", null, false, false);
    }
  }
}
