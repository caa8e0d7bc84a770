package org.modelrunner.conformance.inprocess;

import org.modelrunner.conformance.TransportConformanceSuite;
import org.modelrunner.conformance.TransportFixture;

/**
 * The in-process transport passes the whole suite: the one-line subclass a transport author writes,
 * in a package of its own as a transport author's would be.
 */
class InProcessConformanceTest extends TransportConformanceSuite {
  @Override
  protected TransportFixture fixture() {
    return InProcessFixture.create();
  }
}
