package org.modelrunner.spi;

/**
 * What a transport knows of a request's way to the model, told by the future that {@link
 * ModelConnection#call} returns when it implements this interface.
 *
 * <p>A transport that runs models in the coordinator's own process knows when a request never left
 * it: it waited for one of the coordinator's threads until its deadline (the process was
 * overloaded: ten thousand models called at once from a cold start, say). Such a timeout is the
 * coordinator's delay, not the model's, and a fleet does not count it against the model (it is
 * still a timeout outcome). A network transport cannot tell a request that waits in the
 * coordinator's process from one the runner is late to answer, and does not implement this
 * interface: its timeouts count.
 */
public interface CallProgress {
  /**
   * Returns whether the request waits in the coordinator's own process for a thread to run it or,
   * once it has ended, whether it ended so, without reaching the model (a transport never starts a
   * request whose deadline has passed).
   */
  boolean waitsInCoordinator();
}
