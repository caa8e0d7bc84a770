package org.modelrunner.spi.archfixture.b;

import org.modelrunner.spi.archfixture.a.CycleA;

/** Half of a deliberate package cycle (test fixture). */
public final class CycleB {
  /** Depends on package {@code a}. */
  public CycleA next() {
    return new CycleA();
  }
}
