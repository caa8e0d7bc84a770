/**
 * The model API of the conformance suite: {@link
 * org.modelrunner.conformance.models.ConformanceBase}, the base class that the suite's test
 * submissions (compiled from Java source at run time) extend. A runner needs this package on its
 * host class path.
 */
package org.modelrunner.conformance.models;
