package org.modelrunner.metrics;

/** The test's models. */
final class TestModels {
  private TestModels() {}

  /** The base class. */
  public abstract static class Base {
    /** Returns a prediction. */
    public abstract double predict();
  }

  /** Answers 1.5. */
  public static class Answering extends Base {
    @Override
    public double predict() {
      return 1.5;
    }
  }

  /** Throws. */
  public static class Throwing extends Base {
    @Override
    public double predict() {
      throw new IllegalStateException("no prediction");
    }
  }
}
