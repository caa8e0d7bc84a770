package org.modelrunner.transport.grpc.runnerfixtures;

import java.util.concurrent.atomic.AtomicInteger;

/** An implementation on the host's class path that counts the calls that reached it. */
public class CountingTracker extends TrackerBase {
  /**
   * The number of calls of {@link #predict()} and {@link #tick(Object)} since the last reset of the
   * count.
   */
  public static final AtomicInteger CALLS = new AtomicInteger();

  @Override
  public void tick(Object data) {
    CALLS.incrementAndGet();
  }

  @Override
  public Object predict() {
    return CALLS.incrementAndGet();
  }
}
