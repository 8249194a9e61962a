package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import org.springframework.boot.http.codec.CodecCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.ServerHttpRequest;
import reactor.core.publisher.Mono;

/**
 * Request bodies of at most {@code token.limit.max-body-size} bytes: reading stops at a larger one
 * while it arrives (413 through {@link ApiErrorHandler}), so no client can make us buffer more, and
 * a declared length over the limit is refused before reading. Spring's codecs, which read the
 * bodies of Actuator's endpoints, stop at the same size.
 */
@Configuration(proxyBeanMethods = false)
public class JsonBodyReader {

  private final int maxBodyBytes;

  public JsonBodyReader(TokenLimitProperties properties) {
    this.maxBodyBytes = Math.toIntExact(properties.maxBodySize().toBytes());
  }

  @Bean
  CodecCustomizer bodySizeLimit() {
    return configurer -> configurer.defaultCodecs().maxInMemorySize(maxBodyBytes);
  }

  /** The whole body of {@code request}, empty if it has none; a larger one fails as it arrives. */
  public Mono<byte[]> read(ServerHttpRequest request) {
    if (request.getHeaders().getContentLength() > maxBodyBytes) {
      return Mono.error(
          new ApiException(
              HttpStatus.PAYLOAD_TOO_LARGE,
              "payload_too_large",
              "The request body exceeds the maximum of " + maxBodyBytes + " bytes"));
    }
    return DataBufferUtils.join(request.getBody(), maxBodyBytes)
        .map(JsonBodyReader::bytesOf)
        .defaultIfEmpty(new byte[0]);
  }

  private static byte[] bytesOf(DataBuffer buffer) {
    try {
      byte[] bytes = new byte[buffer.readableByteCount()];
      buffer.read(bytes);
      return bytes;
    } finally {
      DataBufferUtils.release(buffer);
    }
  }
}
