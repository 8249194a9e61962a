package io.simpletokenlimiter.testing.redis;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal blocking Redis client speaking RESP2, for setting servers up and inspecting them in
 * tests (cluster forming, {@code MEMORY USAGE}, {@code SCRIPT FLUSH}) without redis-cli. Replies:
 * simple and bulk strings as {@link String}, integers as {@link Long}, arrays as {@link List}, a
 * nil as the empty string; an error reply throws {@link RedisErrorReply}.
 */
public final class RespConnection implements AutoCloseable {

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RespConnection(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  public static RespConnection open(String host, int port, Duration timeout) {
    Socket socket = new Socket();
    try {
      socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      socket.setSoTimeout((int) timeout.toMillis());
      return new RespConnection(socket);
    } catch (IOException e) {
      closeQuietly(socket);
      throw new UncheckedIOException("cannot connect to redis at " + host + ":" + port, e);
    }
  }

  /** Sends one command and reads its reply. */
  public Object call(Object... arguments) {
    try {
      ByteArrayOutputStream request = new ByteArrayOutputStream();
      request.writeBytes(("*" + arguments.length + "\r\n").getBytes(StandardCharsets.UTF_8));
      for (Object argument : arguments) {
        byte[] bytes = String.valueOf(argument).getBytes(StandardCharsets.UTF_8);
        request.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.UTF_8));
        request.writeBytes(bytes);
        request.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
      }
      out.write(request.toByteArray());
      out.flush();
      return readReply();
    } catch (IOException e) {
      throw new UncheckedIOException("redis command " + arguments[0] + " failed", e);
    }
  }

  public String callString(Object... arguments) {
    return (String) call(arguments);
  }

  public long callLong(Object... arguments) {
    return (Long) call(arguments);
  }

  private Object readReply() throws IOException {
    int type = in.read();
    String line = readLine();
    return switch (type) {
      case '+' -> line;
      case '-' -> throw new RedisErrorReply(line);
      case ':' -> Long.parseLong(line);
      case '$' -> readBulk(Integer.parseInt(line));
      case '*' -> readArray(Integer.parseInt(line));
      case -1 -> throw new IOException("redis closed the connection");
      default -> throw new IOException("unexpected RESP type " + (char) type + line);
    };
  }

  private String readBulk(int length) throws IOException {
    if (length < 0) {
      return "";
    }
    byte[] bytes = in.readNBytes(length + 2);
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }

  private List<Object> readArray(int length) throws IOException {
    List<Object> items = new ArrayList<>(Math.max(length, 0));
    for (int i = 0; i < length; i++) {
      items.add(readReply());
    }
    return items;
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    while (true) {
      int next = in.read();
      if (next == -1) {
        throw new IOException("redis closed the connection mid-reply");
      }
      if (previous == '\r' && next == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
      }
      line.write(next);
      previous = next;
    }
  }

  @Override
  public void close() {
    closeQuietly(socket);
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing to do: the socket is gone either way
    }
  }

  /** An error reply from Redis, e.g. {@code NOSCRIPT} or {@code ERR unknown command}. */
  public static final class RedisErrorReply extends RuntimeException {
    RedisErrorReply(String message) {
      super(message);
    }
  }
}
