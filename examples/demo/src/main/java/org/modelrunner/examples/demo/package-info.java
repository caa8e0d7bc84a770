/**
 * The demo: a coordinator that hosts the example submissions in-process, each in a class loader of
 * its own, and drives them as one fleet, tick after tick, under a deadline.
 *
 * <p>{@link org.modelrunner.examples.demo.Demo} is the command line; the rest of the package is its
 * core (finding the submission folders, running the rounds, drawing the view), package-private so
 * that the tests can run it without {@code java -jar}.
 */
package org.modelrunner.examples.demo;
