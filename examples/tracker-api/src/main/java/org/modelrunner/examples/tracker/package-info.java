/**
 * The API of the example tracking competition: what a coordinator publishes and every participant
 * compiles against.
 *
 * <p>A participant submits a jar (or a folder of jars) with one public, concrete class that extends
 * {@link org.modelrunner.examples.tracker.TrackerBase} and has a public no-argument constructor.
 * The runner finds that class, creates it, and on every tick of the competition calls {@link
 * org.modelrunner.examples.tracker.TrackerBase#tick tick} with the latest {@link
 * org.modelrunner.examples.tracker.Tick} and then {@link
 * org.modelrunner.examples.tracker.TrackerBase#predict predict}, whose {@link
 * org.modelrunner.examples.tracker.Prediction} is scored against the next tick.
 *
 * <p>Both records travel as JSON, so a coordinator written in Python can drive a Java tracker and
 * the other way round: a {@code Tick} is {@code
 * {"symbol":"DEMO","time":1700000000000,"price":101.5}}, a {@code Prediction} is {@code
 * {"price":101.7,"stdDev":0.8}}.
 *
 * <p>This jar is provided by the host at run time: declare it with {@code <scope>provided</scope>}
 * and do not bundle it in a submission. It also ships a benchmark implementation, {@link
 * org.modelrunner.examples.tracker.LastValueTracker}, which the runner never picks as a
 * participant's model (it lives in the same jar as the base class).
 */
package org.modelrunner.examples.tracker;
