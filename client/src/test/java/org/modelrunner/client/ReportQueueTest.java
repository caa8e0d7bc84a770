package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The directory's queue of failure reports: bounded, oldest dropped, each report removed once. */
class ReportQueueTest {
  private static ReportQueue.Report report(String reason) {
    return new ReportQueue.Report("m", "d", "MULTIPLE_FAILED", reason, "{}");
  }

  @Test
  void aFullQueueDropsTheOldest() {
    ReportQueue queue = new ReportQueue(2);
    ReportQueue.Report first = report("first");
    assertThat(queue.add(first)).isNull();
    assertThat(queue.add(report("second"))).isNull();
    assertThat(queue.add(report("third"))).isSameAs(first);
    assertThat(queue.size()).isEqualTo(2);
    assertThat(queue.first().reason()).isEqualTo("second");
  }

  @Test
  void equalReportsAreTwoReportsAndEachIsRemovedOnce() {
    ReportQueue queue = new ReportQueue(10);
    ReportQueue.Report one = report("same");
    ReportQueue.Report two = report("same");
    queue.add(one);
    queue.add(two);
    queue.remove(two); // not the first: removed by identity
    assertThat(queue.size()).isEqualTo(1);
    assertThat(queue.first()).isSameAs(one);
    queue.remove(one);
    queue.remove(one); // already gone: nothing happens
    assertThat(queue.size()).isZero();
    assertThat(queue.first()).isNull();
  }
}
