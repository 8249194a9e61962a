package io.simpletokenlimiter.demo;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The demo upstream, under {@code token.limit.demo}; read only with the profile {@code demo}.
 *
 * @param port where it listens on 127.0.0.1; chosen by {@link DemoUpstreamPostProcessor}
 * @param firstTokenDelay the time before the first token (a GPU's prompt processing)
 * @param tokenDelay the time between two tokens ({@code DEMO_TOKEN_DELAY})
 */
@ConfigurationProperties("token.limit.demo")
@Validated
public record DemoUpstreamProperties(
    @DefaultValue("0") @Min(0) int port,
    @DefaultValue("150ms") @NotNull Duration firstTokenDelay,
    @DefaultValue("25ms") @NotNull Duration tokenDelay) {}
