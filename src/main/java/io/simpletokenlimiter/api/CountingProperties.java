package io.simpletokenlimiter.api;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * How prompt counting shares the CPU, under {@code token.limit.counting}.
 *
 * @param inlineMaxBodySize bodies up to this size are parsed and counted at once on the event loop
 *     (microseconds); larger ones go to the counting threads
 * @param threads counting threads; 0 = one per core
 * @param queue large bodies waiting for a counting thread, over all callers; past it 503 {@code
 *     server_busy}
 * @param perCaller large bodies one caller (user, or remote address when unidentified) may have
 *     counting or waiting at once; past it 429 {@code counting_busy}
 */
@ConfigurationProperties("token.limit.counting")
@Validated
public record CountingProperties(
    @DefaultValue("4KB") @NotNull DataSize inlineMaxBodySize,
    @DefaultValue("0") @Min(0) int threads,
    @DefaultValue("64") @Min(1) int queue,
    @DefaultValue("2") @Min(1) int perCaller) {

  int threadCount() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }
}
