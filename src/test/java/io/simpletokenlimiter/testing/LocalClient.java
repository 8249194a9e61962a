package io.simpletokenlimiter.testing;

import java.time.Duration;
import org.springframework.test.web.reactive.server.WebTestClient;

/** A real HTTP client for the service a test started on a local port. */
public final class LocalClient {

  /** An upper bound only: each test class also has its own JUnit timeout. */
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);

  private LocalClient() {}

  public static WebTestClient to(int port) {
    return WebTestClient.bindToServer()
        .baseUrl("http://localhost:" + port)
        .responseTimeout(RESPONSE_TIMEOUT)
        // A Prometheus scrape with histograms is larger than the codecs' default 256 KB.
        .codecs(codecs -> codecs.defaultCodecs().maxInMemorySize(4 * 1024 * 1024))
        .build();
  }
}
