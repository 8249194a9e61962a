package io.simpletokenlimiter.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.upstream.UpstreamUnavailableException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseEventSplitterTest {

  private final SseEventSplitter splitter = new SseEventSplitter();

  @Test
  void splitsEventsOnBlankLines() {
    assertThat(splitter.push(bytes("data: {\"a\":1}\n\ndata: [DONE]\n\n")))
        .containsExactly("{\"a\":1}", "[DONE]");
    assertThat(splitter.finish()).isEmpty();
  }

  @Test
  void waitsForTheRestOfAnEventSplitAnywhere() {
    String stream = "data: {\"text\":\"héllo 🙂\"}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
    byte[] all = bytes(stream);
    for (int cut = 1; cut < all.length; cut++) {
      SseEventSplitter fresh = new SseEventSplitter();
      List<String> events = new ArrayList<>(fresh.push(Arrays.copyOfRange(all, 0, cut)));
      events.addAll(fresh.push(Arrays.copyOfRange(all, cut, all.length)));
      assertThat(events)
          .as("cut at byte %d", cut)
          .containsExactly("{\"text\":\"héllo 🙂\"}", "{\"b\":2}", "[DONE]");
    }
  }

  @Test
  void acceptsCrLfAndNoSpaceAfterTheColon() {
    assertThat(splitter.push(bytes("data:{\"a\":1}\r\n\r\ndata: x\n\n")))
        .containsExactly("{\"a\":1}", "x");
  }

  @Test
  void joinsMultiLineDataAndIgnoresCommentsAndOtherFields() {
    assertThat(splitter.push(bytes(": keep-alive\n\nevent: x\nid: 3\ndata: a\ndata: b\n\n")))
        .containsExactly("a\nb");
  }

  @Test
  void finishReturnsAnUnterminatedLastEvent() {
    assertThat(splitter.push(bytes("data: [DONE]"))).isEmpty();
    assertThat(splitter.finish()).containsExactly("[DONE]");
  }

  @Test
  void findsEveryEventWhenBytesArriveOneByOne() {
    StringBuilder stream = new StringBuilder();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      String data = "{\"i\":" + i + ",\"text\":\"héllo 🙂\"}";
      String ending =
          switch (i % 4) {
            case 0 -> "\n\n";
            case 1 -> "\r\n\r\n";
            case 2 -> "\n\r\n";
            default -> "\r\n\n";
          };
      stream.append("data: ").append(data).append(ending);
      expected.add(data);
    }

    List<String> events = new ArrayList<>();
    for (byte b : bytes(stream.toString())) {
      events.addAll(splitter.push(new byte[] {b}));
    }

    assertThat(events).containsExactlyElementsOf(expected);
    assertThat(splitter.finish()).isEmpty();
  }

  @Test
  void findsCrLfBoundariesSplitAnywhere() {
    byte[] all =
        bytes("data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n: ping\r\n\r\ndata: [DONE]\r\n\r\n");
    for (int first = 1; first < all.length; first++) {
      for (int second = first; second < all.length; second++) {
        SseEventSplitter fresh = new SseEventSplitter();
        List<String> events = new ArrayList<>(fresh.push(Arrays.copyOfRange(all, 0, first)));
        events.addAll(fresh.push(Arrays.copyOfRange(all, first, second)));
        events.addAll(fresh.push(Arrays.copyOfRange(all, second, all.length)));
        events.addAll(fresh.finish());
        assertThat(events)
            .as("cut at bytes %d and %d", first, second)
            .containsExactly("a", "b\nc", "[DONE]");
      }
    }
  }

  @Test
  void aLongEventInManySmallChunksArrivesWhole() {
    String data = "x".repeat(300_000);
    byte[] all = bytes("data: " + data + "\n\ndata: [DONE]\n\n");
    List<String> events = new ArrayList<>();
    for (int from = 0; from < all.length; from += 7) {
      events.addAll(splitter.push(Arrays.copyOfRange(all, from, Math.min(all.length, from + 7))));
    }

    assertThat(events).containsExactly(data, "[DONE]");
  }

  @Test
  void failsTheStreamWhenMoreThanAMegabyteWaitsForABoundary() {
    byte[] kilobyte = bytes("x".repeat(1024));
    splitter.push(bytes("data: "));
    for (int i = 0; i < 1023; i++) {
      splitter.push(kilobyte);
    }

    assertThatThrownBy(() -> splitter.push(kilobyte))
        .isInstanceOf(UpstreamUnavailableException.class)
        .hasMessageContaining("without ending an event");
  }

  @Test
  void theCapCountsOnlyWhatWaitsNotWhatPassed() {
    byte[] event = bytes("data: " + "x".repeat(100_000) + "\n\n");
    int passed = 0;
    for (int i = 0; i < 30; i++) {
      passed += splitter.push(event).size();
    }
    String largest = "y".repeat(SseEventSplitter.MAX_PENDING_BYTES - "data: ".length());

    assertThat(passed).isEqualTo(30);
    assertThat(splitter.push(bytes("data: " + largest))).isEmpty();
    assertThat(splitter.push(bytes("\n\n"))).containsExactly(largest);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
