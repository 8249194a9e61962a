package io.simpletokenlimiter.api;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes the usage events to standard output from a thread of its own, in batches (see {@code
 * logback-spring.xml}). Logback's async appender woke its writer for every line, about a tenth of a
 * request's CPU on a busy replica; this writer takes everything queued, writes it with one call,
 * then pauses {@code batchPauseMillis} (default 5) so that the next lines gather. A line waits at
 * most about that long.
 *
 * <p>Bounded and lossless: at most {@code queueSize} lines (default 8,192) wait; when standard
 * output falls that far behind, the request's thread waits for room rather than drop a billing
 * line. On stop, what is queued is written, for up to {@code maxFlushTimeMillis} (default 5,000).
 * Lines are encoded on the caller's thread by the configured encoder.
 */
public class BatchingConsoleAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {

  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 8_192;
  private long batchPauseMillis = 5;
  private long maxFlushTimeMillis = 5_000;
  private OutputStream target;

  private BlockingQueue<byte[]> queue;
  private Thread writer;
  private volatile boolean accepting;

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  public void setBatchPauseMillis(long batchPauseMillis) {
    this.batchPauseMillis = batchPauseMillis;
  }

  public void setMaxFlushTimeMillis(long maxFlushTimeMillis) {
    this.maxFlushTimeMillis = maxFlushTimeMillis;
  }

  /** Where the lines go; standard output unless set (tests set it). */
  void setTarget(OutputStream target) {
    this.target = target;
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("No encoder for the appender named [" + name + "].");
      return;
    }
    if (queueSize < 1 || batchPauseMillis < 0) {
      addError("queueSize must be at least 1 and batchPauseMillis not negative.");
      return;
    }
    if (target == null) {
      target = System.out;
    }
    queue = new ArrayBlockingQueue<>(queueSize);
    accepting = true;
    writer = new Thread(this::writeUntilStopped, "usage-events-writer");
    writer.setDaemon(true);
    writer.start();
    super.start();
  }

  @Override
  protected void append(ILoggingEvent event) {
    if (!accepting) {
      return;
    }
    byte[] line = encoder.encode(event);
    boolean interrupted = false;
    while (true) {
      try {
        queue.put(line);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    accepting = false;
    LockSupport.unpark(writer);
    try {
      writer.join(maxFlushTimeMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (writer.isAlive()) {
      addWarn("Usage events still queued after " + maxFlushTimeMillis + " ms: " + queue.size());
    }
    super.stop();
  }

  private void writeUntilStopped() {
    List<byte[]> batch = new ArrayList<>();
    ByteArrayOutputStream joined = new ByteArrayOutputStream(64 * 1024);
    while (accepting || !queue.isEmpty()) {
      try {
        byte[] first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
      } catch (InterruptedException e) {
        continue;
      }
      queue.drainTo(batch);
      write(batch, joined);
      batch.clear();
      if (accepting && batchPauseMillis > 0) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(batchPauseMillis));
      }
    }
  }

  private void write(List<byte[]> batch, ByteArrayOutputStream joined) {
    joined.reset();
    batch.forEach(joined::writeBytes);
    try {
      // one write call: the stream's own lock keeps any other console output out of these lines
      joined.writeTo(target);
      target.flush();
    } catch (IOException | RuntimeException e) {
      addError("Could not write " + batch.size() + " usage events", e);
    }
  }
}
