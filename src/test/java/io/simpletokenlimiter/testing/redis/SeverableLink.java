package io.simpletokenlimiter.testing.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder between one client and a Redis server, on its own loopback port, that a test can
 * {@link #sever()}: every open connection is dropped and new ones are refused, as when the host of
 * a replica loses the network. Redis itself keeps running for everyone else. Threads are daemons;
 * {@link #close()} ends them all.
 */
public final class SeverableLink implements AutoCloseable {

  private final ServerSocket listener;
  private final String targetHost;
  private final int targetPort;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private volatile boolean severed;

  private SeverableLink(ServerSocket listener, String targetHost, int targetPort) {
    this.listener = listener;
    this.targetHost = targetHost;
    this.targetPort = targetPort;
  }

  /** Listens on a free loopback port and forwards every connection to {@code host:port}. */
  public static SeverableLink to(String host, int port) {
    try {
      ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      SeverableLink link = new SeverableLink(listener, host, port);
      daemon("link-accept-" + listener.getLocalPort(), link::acceptLoop).start();
      return link;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen for a link to " + host + ":" + port, e);
    }
  }

  public String host() {
    return listener.getInetAddress().getHostAddress();
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** Drops every connection through the link and refuses new ones, for good. */
  public void sever() {
    severed = true;
    closeQuietly(listener);
    sockets.forEach(SeverableLink::closeQuietly);
  }

  @Override
  public void close() {
    sever();
  }

  private void acceptLoop() {
    while (!severed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return;
      }
      try {
        Socket server = new Socket();
        server.connect(new InetSocketAddress(targetHost, targetPort), 2_000);
        sockets.add(client);
        sockets.add(server);
        if (severed) {
          closeQuietly(client);
          closeQuietly(server);
          return;
        }
        daemon("link-up-" + client.getPort(), () -> pump(client, server)).start();
        daemon("link-down-" + client.getPort(), () -> pump(server, client)).start();
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[8192];
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      int read;
      while ((read = in.read(buffer)) >= 0) {
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException e) {
      // one side closed or the link was severed: close both below
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      sockets.remove(from);
      sockets.remove(to);
    }
  }

  private static Thread daemon(String name, Runnable task) {
    Thread thread = new Thread(task, name);
    thread.setDaemon(true);
    return thread;
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      // already closed
    }
  }
}
