package io.simpletokenlimiter.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A client connection that writes raw HTTP/1.1 bytes: pipelining, trickling, odd headers. */
final class RawConnection implements AutoCloseable {

  private static final Pattern CONTENT_LENGTH =
      Pattern.compile("(?i)\\r\\ncontent-length: *(\\d+)\\r\\n");

  private final Socket socket;

  private RawConnection(Socket socket) {
    this.socket = socket;
  }

  /** A connection to the local port whose reads give up after 20 s. */
  static RawConnection open(int port) throws IOException {
    Socket socket = new Socket("localhost", port);
    socket.setSoTimeout(20_000);
    return new RawConnection(socket);
  }

  /** A chat completion request from {@code user}, with {@code headers} (each ending in CRLF). */
  static String chat(String user, boolean stream, String headers) {
    String body =
        "{\"model\":\"llama3.2-1b\",\"stream\":"
            + stream
            + ",\"max_tokens\":"
            + (stream ? 12 : 4)
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-User-ID: "
        + user
        + "\r\nContent-Type: application/json\r\n"
        + headers
        + "Content-Length: "
        + body.length()
        + "\r\n\r\n"
        + body;
  }

  Socket socket() {
    return socket;
  }

  void send(String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Everything the server sent until it closed the connection (a reset counts as a close). */
  String readUntilClosed() throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        received.write(buffer, 0, n);
      }
    } catch (SocketException e) {
      if (!String.valueOf(e.getMessage()).contains("reset")) {
        throw e;
      }
    }
    return received.toString(StandardCharsets.ISO_8859_1);
  }

  /** One answer with a {@code Content-Length}: its headers and body, nothing after them. */
  String readAnswer() throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    int bodyStart = -1;
    int length = -1;
    while (bodyStart < 0 || received.size() < bodyStart + length) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed within an answer: " + received);
      }
      received.write(b);
      String text = received.toString(StandardCharsets.ISO_8859_1);
      if (bodyStart < 0 && text.endsWith("\r\n\r\n")) {
        bodyStart = text.length();
        Matcher header = CONTENT_LENGTH.matcher(text);
        if (!header.find()) {
          throw new IOException("no content-length: " + text);
        }
        length = Integer.parseInt(header.group(1));
      }
    }
    return received.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
