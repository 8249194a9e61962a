package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.upstream.UpstreamUnavailableException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a byte stream of Server-Sent Events into the {@code data} of each event. Network chunks may
 * end anywhere, even inside a UTF-8 character, so bytes wait until their event's blank line has
 * arrived. One instance per stream; not thread-safe (a Flux delivers in order).
 *
 * <p>Each byte is scanned about once: a chunk is searched for blank lines from where the previous
 * search stopped, and only the bytes after the last complete event are kept.
 */
final class SseEventSplitter {

  /**
   * The most bytes that may wait for a blank line. vLLM's events are a few kilobytes; a stream that
   * sends a megabyte without ending an event is broken and would otherwise grow without end.
   */
  static final int MAX_PENDING_BYTES = 1024 * 1024;

  /**
   * The longest blank line, {@code \r\n\r\n}, is four bytes: one may begin up to three bytes before
   * the end of what was already searched.
   */
  private static final int BOUNDARY_OVERLAP = 3;

  private static final int INITIAL_CAPACITY = 1024;

  private byte[] pending = new byte[INITIAL_CAPACITY];
  private int length;

  /**
   * The data of every event completed by {@code chunk}.
   *
   * @throws UpstreamUnavailableException when more than {@link #MAX_PENDING_BYTES} are pending
   *     without an event boundary
   */
  List<String> push(byte[] chunk) {
    int searchFrom = Math.max(0, length - BOUNDARY_OVERLAP);
    append(chunk);
    List<String> events = new ArrayList<>();
    int start = 0;
    for (int i = searchFrom; i < length; i++) {
      int end = blankLineEnd(i);
      if (end > 0) {
        addEvent(events, new String(pending, start, i - start, StandardCharsets.UTF_8));
        start = end;
        i = end - 1;
      }
    }
    if (start > 0) {
      dropBefore(start);
    }
    if (length > MAX_PENDING_BYTES) {
      throw new UpstreamUnavailableException(
          "vLLM sent more than " + MAX_PENDING_BYTES + " bytes without ending an event");
    }
    return events;
  }

  /** The last event, if the stream ended without its blank line. */
  List<String> finish() {
    List<String> events = new ArrayList<>();
    addEvent(events, new String(pending, 0, length, StandardCharsets.UTF_8));
    length = 0;
    return events;
  }

  private void append(byte[] chunk) {
    if (length + chunk.length > pending.length) {
      pending = Arrays.copyOf(pending, Math.max(2 * pending.length, length + chunk.length));
    }
    System.arraycopy(chunk, 0, pending, length, chunk.length);
    length += chunk.length;
  }

  /** Keeps the bytes after the last boundary: at most the chunk that brought it, and three. */
  private void dropBefore(int start) {
    System.arraycopy(pending, start, pending, 0, length - start);
    length -= start;
  }

  /** If a line ending followed by an empty line starts at {@code i}: the index after both. */
  private int blankLineEnd(int i) {
    int afterFirst = lineEnd(i);
    if (afterFirst < 0) {
      return -1;
    }
    return lineEnd(afterFirst);
  }

  private int lineEnd(int i) {
    if (i < length && pending[i] == '\n') {
      return i + 1;
    }
    if (i + 1 < length && pending[i] == '\r' && pending[i + 1] == '\n') {
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
