package org.modelrunner.examples.tracker;

/**
 * The class every participant of the example tracking competition extends: <b>this is what you
 * implement</b>.
 *
 * <pre>{@code
 * public class MyTracker extends TrackerBase {
 *   private double last = Double.NaN;
 *
 *   @Override
 *   public void tick(Tick data) {
 *     last = data.price();
 *   }
 *
 *   @Override
 *   public Prediction predict() {
 *     return Prediction.of(last);
 *   }
 * }
 * }</pre>
 *
 * <h2>The contract</h2>
 *
 * <ul>
 *   <li>Your submission (a jar, or a folder with your jar and the jars of your own dependencies)
 *       contains exactly one public, concrete class that extends {@code TrackerBase}, with a public
 *       no-argument constructor. The runner finds it by scanning your classes, or takes the one
 *       named in your {@code META-INF/services/org.modelrunner.examples.tracker.TrackerBase} file.
 *       A submission with none is rejected at setup ({@code BAD_IMPLEMENTATION}); so is one with
 *       several, unless the services file names one.
 *   <li>Depend on this API jar with {@code <scope>provided</scope>}: the host provides it. Do not
 *       bundle it.
 *   <li>On every tick of the competition the coordinator calls {@link #tick(Tick)} with the latest
 *       data, then {@link #predict()}. Calls never overlap, so your instance needs no locking. Each
 *       call must answer within the coordinator's deadline: a late answer is a {@code TIMEOUT}, an
 *       exception is a {@code FAILURE}, and a model with more than a few of either in a row (three
 *       by default) is disconnected.
 *   <li>Data travels as JSON ({@link Tick} and {@link Prediction} are plain records), so the
 *       coordinator may be written in Java or Python.
 * </ul>
 *
 * <p>{@link LastValueTracker}, in this same jar, is the benchmark every model should beat. It is
 * never taken as a participant's model, even though it extends this class: the runner ignores
 * implementations that ship in the same jar as the base class.
 */
public abstract class TrackerBase {
  /** For subclasses. */
  protected TrackerBase() {}

  /**
   * Receives the latest observation. Called on every tick, before {@link #predict()}.
   *
   * @param data the observation
   */
  public abstract void tick(Tick data);

  /**
   * Forecasts the price of the next tick from what {@link #tick(Tick)} has received so far.
   *
   * @return the forecast; its price is compared with the next tick's
   */
  public abstract Prediction predict();
}
