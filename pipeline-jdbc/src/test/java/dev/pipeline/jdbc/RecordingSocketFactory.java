package dev.pipeline.jdbc;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.SocketFactory;

/**
 * A socket factory pgjdbc instantiates when a URL names it in {@code socketFactory}: it counts its
 * instances, so that a test can tell whether the driver ever loaded it.
 */
public final class RecordingSocketFactory extends SocketFactory {
  static final AtomicInteger INSTANCES = new AtomicInteger();

  public RecordingSocketFactory() {
    INSTANCES.incrementAndGet();
  }

  @Override
  public Socket createSocket() throws IOException {
    return new Socket();
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return new Socket(host, port);
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress local, int localPort)
      throws IOException {
    return new Socket(host, port, local, localPort);
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return new Socket(host, port);
  }

  @Override
  public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort)
      throws IOException {
    return new Socket(host, port, local, localPort);
  }
}
