package org.modelrunner.transport.grpc;

import io.grpc.netty.shaded.io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads of one client transport: daemon threads named {@code
 * modelrunner-grpc-client-<n>-io-<k>} (the event loops that do all network work and fire deadlines)
 * and {@code modelrunner-grpc-client-<n>-callbacks-<k>} (where gRPC delivers answers and the
 * transport completes futures), {@code <n>} numbering transports in the JVM. Closing the transport
 * ends all of them.
 */
final class GrpcThreads {
  /** The prefix of the name of every thread of every client transport. */
  static final String PREFIX = "modelrunner-grpc-client-";

  private static final AtomicInteger TRANSPORT_NUMBERS = new AtomicInteger();

  private final String prefix = PREFIX + TRANSPORT_NUMBERS.incrementAndGet() + "-";
  private final ThreadGroup group = Thread.currentThread().getThreadGroup();

  /** The factory of event loop threads (Netty's fast thread-local threads). */
  ThreadFactory eventLoops() {
    AtomicInteger numbers = new AtomicInteger();
    return body -> {
      Thread thread =
          new FastThreadLocalThread(group, body, prefix + "io-" + numbers.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** The factory of callback threads. */
  ThreadFactory callbacks() {
    AtomicInteger numbers = new AtomicInteger();
    return body -> {
      Thread thread = new Thread(group, body, prefix + "callbacks-" + numbers.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** Returns whether the current thread is one of this transport's. */
  boolean isCurrentThreadOwn() {
    return Thread.currentThread().getName().startsWith(prefix);
  }

  /** Returns the prefix of the names of this transport's threads. */
  String prefix() {
    return prefix;
  }
}
