package io.simpletokenlimiter.api;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** Puts a {@link RecordingTokenLimiter} in front of whichever real limiter is present. */
@TestConfiguration(proxyBeanMethods = false)
public class RecordingLimiterConfiguration {

  @Bean
  @Primary
  RecordingTokenLimiter recordingTokenLimiter() {
    return new RecordingTokenLimiter();
  }
}
