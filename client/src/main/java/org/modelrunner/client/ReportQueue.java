package org.modelrunner.client;

import java.util.ArrayDeque;

/**
 * The failure reports an {@link OrchestratorDirectory} has not sent yet: a bounded FIFO (when full,
 * the oldest report is dropped and returned, for a warning). A report leaves only once it was
 * written, so each is sent once. Thread-safe.
 */
final class ReportQueue {
  /** One report; compared by identity (two equal reports are two reports). */
  record Report(String modelId, String deploymentId, String code, String reason, String text) {}

  private final int capacity;
  private final ArrayDeque<Report> reports = new ArrayDeque<>();

  ReportQueue(int capacity) {
    this.capacity = capacity;
  }

  /**
   * Adds a report at the end.
   *
   * @return the oldest report, dropped to make room, or null
   */
  synchronized Report add(Report report) {
    Report dropped = reports.size() >= capacity ? reports.pollFirst() : null;
    reports.addLast(report);
    return dropped;
  }

  /** Returns the oldest report, or null. */
  synchronized Report first() {
    return reports.peekFirst();
  }

  /** Removes that report (it was written). */
  synchronized void remove(Report report) {
    if (reports.peekFirst() == report) {
      reports.pollFirst();
    } else {
      reports.removeIf(queued -> queued == report);
    }
  }

  synchronized int size() {
    return reports.size();
  }

  int capacity() {
    return capacity;
  }
}
