package org.modelrunner.examples.tracker;

import java.util.Objects;

/**
 * One observation of the tracked series, sent to every model on every tick (as JSON: {@code
 * {"symbol":"DEMO","time":1700000000000,"price":101.5}}).
 *
 * @param symbol what is tracked
 * @param time when it was observed, in milliseconds since the epoch
 * @param price the observed price
 */
public record Tick(String symbol, long time, double price) {
  /**
   * Creates the tick.
   *
   * @throws NullPointerException if {@code symbol} is null
   */
  public Tick {
    Objects.requireNonNull(symbol, "symbol");
  }
}
