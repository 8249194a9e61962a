package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import org.springframework.boot.http.codec.CodecCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Mono;

/**
 * Request bodies of at most {@code token.limit.max-body-size} bytes: the codecs stop reading a
 * larger one while it arrives (413 through {@link ApiErrorHandler}), so no client can make us
 * buffer more, and a declared length over the limit is refused before reading.
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

  public Mono<byte[]> read(ServerRequest request) {
    if (request.headers().contentLength().orElse(0) > maxBodyBytes) {
      return Mono.error(
          new ApiException(
              HttpStatus.PAYLOAD_TOO_LARGE,
              "payload_too_large",
              "The request body exceeds the maximum of " + maxBodyBytes + " bytes"));
    }
    return request.bodyToMono(byte[].class).defaultIfEmpty(new byte[0]);
  }
}
