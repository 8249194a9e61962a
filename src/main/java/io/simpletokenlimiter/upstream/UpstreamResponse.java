package io.simpletokenlimiter.upstream;

import java.io.ByteArrayOutputStream;
import org.springframework.http.MediaType;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * vLLM's answer once its status line has arrived. The body has not been read yet: it must be
 * consumed (or cancelled, which closes the connection so vLLM stops generating).
 *
 * @param contentType the upstream content type, {@code application/json} when it sent none
 */
public record UpstreamResponse(int status, MediaType contentType, Flux<byte[]> body) {

  public boolean successful() {
    return status >= 200 && status < 300;
  }

  /** The whole body at once: for JSON answers, which are small. */
  public Mono<byte[]> bodyBytes() {
    return body.collect(ByteArrayOutputStream::new, ByteArrayOutputStream::writeBytes)
        .map(ByteArrayOutputStream::toByteArray);
  }
}
