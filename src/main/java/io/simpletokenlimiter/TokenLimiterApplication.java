package io.simpletokenlimiter;

import io.simpletokenlimiter.server.EventLoopThreads;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** Entry point: a token-limiting proxy in front of an OpenAI-compatible vLLM server. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class TokenLimiterApplication {

  public static void main(String[] args) {
    EventLoopThreads.onePerCore();
    SpringApplication.run(TokenLimiterApplication.class, args);
  }
}
