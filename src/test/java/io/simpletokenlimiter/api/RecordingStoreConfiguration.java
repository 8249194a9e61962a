package io.simpletokenlimiter.api;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** Puts a {@link RecordingLimitStore} under the real limiter, instead of the configured store. */
@TestConfiguration(proxyBeanMethods = false)
public class RecordingStoreConfiguration {

  @Bean
  @Primary
  RecordingLimitStore recordingLimitStore() {
    return new RecordingLimitStore();
  }
}
