package org.modelrunner.testsupport;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Lets a test hold a model call open: a test submission calls {@link #pass()} (it sees this class
 * through the host class path) and the test decides when it returns.
 */
public final class Gate {
  private static volatile CountDownLatch entered = new CountDownLatch(1);
  private static volatile CountDownLatch release = new CountDownLatch(1);

  private Gate() {}

  /** Re-arms the gate before a test. */
  public static void arm() {
    entered = new CountDownLatch(1);
    release = new CountDownLatch(1);
  }

  /** Called by model code: signals entry and waits (at most 30 s) until the test opens the gate. */
  public static void pass() throws InterruptedException {
    entered.countDown();
    release.await(30, TimeUnit.SECONDS);
  }

  /** Waits until model code is inside {@link #pass()}. */
  public static boolean awaitEntered() throws InterruptedException {
    return entered.await(30, TimeUnit.SECONDS);
  }

  /** Lets model code leave {@link #pass()}. */
  public static void open() {
    release.countDown();
  }
}
