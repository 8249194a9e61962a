package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BatchingConsoleAppenderTest {

  private final LoggerContext context = new LoggerContext();
  private final CountingOutput output = new CountingOutput();
  private final BatchingConsoleAppender appender = new BatchingConsoleAppender();

  @AfterEach
  void stop() {
    output.release.countDown();
    appender.stop();
  }

  @Test
  void everyLineIsWrittenOnceAndEachThreadsLinesInOrder() throws Exception {
    start(8_192);
    int threads = 4;
    int perThread = 5_000;
    List<Thread> writers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      writers.add(
          started(
              () -> {
                for (int i = 0; i < perThread; i++) {
                  log("thread " + thread + " line " + i);
                }
              }));
    }
    for (Thread writer : writers) {
      writer.join();
    }
    appender.stop();

    List<String> lines = output.text().lines().toList();
    assertThat(lines).hasSize(threads * perThread);
    for (int t = 0; t < threads; t++) {
      String prefix = "thread " + t + " line ";
      assertThat(lines.stream().filter(line -> line.startsWith(prefix)).toList())
          .containsExactlyElementsOf(
              IntStream.range(0, perThread).mapToObj(i -> prefix + i).toList());
    }
  }

  @Test
  void linesThatArriveTogetherGoOutInOneWrite() {
    // The writer is held in its first write while the lines queue: how fast this machine logs
    // cannot spread them over many writes.
    output.stalled = true;
    start(8_192);
    log("first");
    await().atMost(Duration.ofSeconds(5)).until(() -> output.writes.get() == 1);
    for (int i = 0; i < 1_000; i++) {
      log("line " + i);
    }
    output.release.countDown();
    await().atMost(Duration.ofSeconds(5)).until(() -> output.text().lines().count() == 1_001);

    // The first line's write, then one for the thousand queued behind it (not 1,000 more).
    assertThat(output.writes.get()).isEqualTo(2);
  }

  @Test
  void aLineIsWrittenSoonWithoutOthersToWaitFor() {
    start(8_192);
    log("alone");

    await().atMost(Duration.ofSeconds(1)).until(() -> output.text().equals("alone\n"));
  }

  @Test
  void whenOutputStallsCallersWaitForRoomAndNothingIsLost() throws Exception {
    output.stalled = true;
    start(10);
    Thread caller =
        started(
            () -> {
              for (int i = 0; i < 100; i++) {
                log("line " + i);
              }
            });
    // the writer holds one batch in its stalled write, the queue ten more lines: the caller waits
    await().atMost(Duration.ofSeconds(5)).until(() -> caller.getState() == Thread.State.WAITING);
    assertThat(caller.isAlive()).isTrue();

    output.release.countDown();
    caller.join(5_000);
    appender.stop();

    assertThat(output.text().lines().toList())
        .containsExactlyElementsOf(IntStream.range(0, 100).mapToObj(i -> "line " + i).toList());
  }

  @Test
  void stoppingWritesWhatIsQueued() {
    appender.setBatchPauseMillis(10_000);
    start(8_192);
    log("first");
    await().atMost(Duration.ofSeconds(1)).until(() -> output.text().equals("first\n"));
    log("second");
    log("third");

    appender.stop();

    assertThat(output.text()).isEqualTo("first\nsecond\nthird\n");
  }

  private static Thread started(Runnable work) {
    Thread thread = new Thread(work);
    thread.start();
    return thread;
  }

  private void start(int queueSize) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%msg%n");
    encoder.setCharset(StandardCharsets.UTF_8);
    encoder.start();
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.setQueueSize(queueSize);
    appender.setTarget(output);
    appender.start();
    assertThat(appender.isStarted()).isTrue();
  }

  private void log(String message) {
    appender.doAppend(
        new LoggingEvent(
            getClass().getName(),
            context.getLogger(UsageEvents.LOGGER),
            Level.INFO,
            message,
            null,
            null));
  }

  /** Counts writes; when stalled, each write waits until released. */
  private static final class CountingOutput extends OutputStream {

    final AtomicInteger writes = new AtomicInteger();
    final CountDownLatch release = new CountDownLatch(1);
    volatile boolean stalled;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      writes.incrementAndGet();
      if (stalled) {
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      synchronized (bytes) {
        bytes.write(b, off, len);
      }
    }

    String text() {
      synchronized (bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
      }
    }
  }
}
