package io.simpletokenlimiter.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.timeout.ReadTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.netty.NettyPipeline;

/**
 * A call's deadlines on its connection: the first byte, then each next read, until the answer's
 * last byte; nothing before a call arms them or after its answer ends. Real time, short timeouts.
 */
class UpstreamReadDeadlineTest {

  private static final Duration FIRST_BYTE = Duration.ofMillis(800);
  private static final Duration IDLE = Duration.ofMillis(200);

  private EmbeddedChannel channel;

  @BeforeEach
  void connection() {
    channel = new EmbeddedChannel();
    channel.pipeline().addLast(NettyPipeline.HttpCodec, new HttpClientCodec());
    UpstreamReadDeadline.install(channel, FIRST_BYTE, IDLE);
  }

  @Test
  void aCallWithoutAnyAnswerFailsAtTheFirstByteTimeoutAndClosesTheConnection() throws Exception {
    UpstreamReadDeadline.arm(channel);

    waitAndRunTimers(IDLE.multipliedBy(2));
    assertThat(channel.isActive()).as("the idle timeout is not the first byte's").isTrue();

    waitAndRunTimers(FIRST_BYTE);
    assertTimedOutAndClosed();
  }

  @Test
  void onceTheAnswerBeganEachNextReadMustComeWithinTheIdleTimeout() throws Exception {
    UpstreamReadDeadline.arm(channel);
    read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int chunk = 0; chunk < 4; chunk++) {
      waitAndRunTimers(IDLE.dividedBy(4));
      read("1\r\na\r\n");
    }
    assertThat(channel.isActive()).as("reads kept coming in time").isTrue();

    waitAndRunTimers(IDLE.multipliedBy(2));
    assertTimedOutAndClosed();
  }

  @Test
  void anAnswerThatEndedLeavesTheConnectionUntimedForTheNextCall() throws Exception {
    UpstreamReadDeadline.arm(channel);
    read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");

    waitAndRunTimers(FIRST_BYTE);
    channel.checkException();
    assertThat(channel.isActive()).isTrue();

    UpstreamReadDeadline.arm(channel);
    waitAndRunTimers(FIRST_BYTE);
    assertThatThrownBy(channel::checkException).isInstanceOf(ReadTimeoutException.class);
  }

  @Test
  void aConnectionNoCallArmedIsNeverTimed() throws Exception {
    waitAndRunTimers(FIRST_BYTE);

    channel.checkException();
    assertThat(channel.isActive()).isTrue();
  }

  private void assertTimedOutAndClosed() {
    assertThatThrownBy(channel::checkException).isInstanceOf(ReadTimeoutException.class);
    assertThat(channel.isActive()).isFalse();
  }

  private void read(String bytes) {
    channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.US_ASCII));
    channel.inboundMessages().clear();
  }

  private void waitAndRunTimers(Duration wait) throws InterruptedException {
    Thread.sleep(wait.toMillis() + 20);
    channel.runScheduledPendingTasks();
  }
}
