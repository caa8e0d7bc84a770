package org.modelrunner.spi;

import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * A call's future that hands its outcome to one action without a dependent stage, told by the
 * future that {@link ModelConnection#call} returns when it implements this interface.
 *
 * <p>{@link CompletableFuture#whenComplete} makes two objects per call (the action's completion and
 * the stage it returns) and takes a few atomic steps to push and run them. A fleet that calls
 * thousands of in-process models a tick, whose caller ignores that stage, gives its action here
 * instead: the future keeps it in a field and runs it when it completes.
 */
public interface CallCompletion {
  /**
   * Runs {@code action} once, with the reply or the failure as {@link
   * CompletableFuture#whenComplete} gives them: on the thread that completes the future, or on this
   * one, at once, if it is complete. What the action throws is logged and dropped (a {@code
   * whenComplete} action's ends the stage it returns, which such a caller does not look at).
   *
   * @throws IllegalStateException if the future was given an action already
   */
  void whenDone(BiConsumer<? super Reply, ? super Throwable> action);
}
