package io.simpletokenlimiter.api;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a byte stream of Server-Sent Events into the {@code data} of each event. Network chunks may
 * end anywhere, even inside a UTF-8 character, so bytes wait until their event's blank line has
 * arrived. One instance per stream; not thread-safe (a Flux delivers in order).
 */
final class SseEventSplitter {

  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

  /** The data of every event completed by {@code chunk}. */
  List<String> push(byte[] chunk) {
    pending.writeBytes(chunk);
    byte[] bytes = pending.toByteArray();
    List<String> events = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      int end = blankLineEnd(bytes, i);
      if (end > 0) {
        addEvent(events, new String(bytes, start, i - start, StandardCharsets.UTF_8));
        start = end;
        i = end - 1;
      }
    }
    pending.reset();
    pending.write(bytes, start, bytes.length - start);
    return events;
  }

  /** The last event, if the stream ended without its blank line. */
  List<String> finish() {
    List<String> events = new ArrayList<>();
    addEvent(events, pending.toString(StandardCharsets.UTF_8));
    pending.reset();
    return events;
  }

  /** If a line ending followed by an empty line starts at {@code i}: the index after both. */
  private static int blankLineEnd(byte[] bytes, int i) {
    int afterFirst = lineEnd(bytes, i);
    if (afterFirst < 0) {
      return -1;
    }
    return lineEnd(bytes, afterFirst);
  }

  private static int lineEnd(byte[] bytes, int i) {
    if (i < bytes.length && bytes[i] == '\n') {
      return i + 1;
    }
    if (i + 1 < bytes.length && bytes[i] == '\r' && bytes[i + 1] == '\n') {
      return i + 2;
    }
    return -1;
  }

  private static void addEvent(List<String> events, String event) {
    StringBuilder data = new StringBuilder();
    boolean hasData = false;
    for (String line : event.split("\r?\n")) {
      if (line.startsWith("data:")) {
        if (hasData) {
          data.append('\n');
        }
        String value = line.substring("data:".length());
        data.append(value.startsWith(" ") ? value.substring(1) : value);
        hasData = true;
      }
    }
    if (hasData) {
      events.add(data.toString());
    }
  }
}
