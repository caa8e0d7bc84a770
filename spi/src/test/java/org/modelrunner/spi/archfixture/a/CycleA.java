package org.modelrunner.spi.archfixture.a;

import org.modelrunner.spi.archfixture.b.CycleB;

/** Half of a deliberate package cycle (test fixture). */
public final class CycleA {
  /** Depends on package {@code b}. */
  public CycleB next() {
    return new CycleB();
  }
}
