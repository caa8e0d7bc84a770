package org.modelrunner.transport.grpc;

import java.util.logging.Handler;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * The {@link LogManager} of the runner's process, which {@link RunnerMain} installs (through the
 * system property {@code java.util.logging.manager}) so that the runner can still log while it
 * stops.
 *
 * <p>The JDK's log manager resets (closes) every handler from a JVM shutdown hook of its own, which
 * runs concurrently with the runner's graceful stop on {@code SIGTERM}: the lines saying that the
 * runner stops would be lost. This one only flushes its handlers when reset during JVM shutdown,
 * and resets normally otherwise. It is public only because {@link LogManager} instantiates it by
 * reflection; applications that embed a {@link GrpcRunner} have no use for it.
 */
public final class RunnerLogManager extends LogManager {
  /**
   * Creates the log manager; called by {@link LogManager} when named by {@code
   * java.util.logging.manager}.
   */
  public RunnerLogManager() {}

  @Override
  public void reset() {
    if (isJvmShuttingDown()) {
      for (Handler handler : Logger.getLogger("").getHandlers()) {
        handler.flush();
      }
      return;
    }
    super.reset();
  }

  /** Returns whether the JVM's shutdown has begun (shutdown hooks can no longer be added then). */
  static boolean isJvmShuttingDown() {
    Thread probe = new Thread(() -> {}, "modelrunner-shutdown-probe");
    try {
      Runtime.getRuntime().addShutdownHook(probe);
      Runtime.getRuntime().removeShutdownHook(probe);
      return false;
    } catch (IllegalStateException shuttingDown) {
      return true;
    }
  }
}
