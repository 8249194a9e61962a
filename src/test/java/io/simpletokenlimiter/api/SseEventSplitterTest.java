package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

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

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
