/**
 * Test fixture for {@code SpiArchitectureTest}: two packages that depend on each other, to show
 * that the cycle rule detects a cycle. Never on the main class path.
 */
package org.modelrunner.spi.archfixture;
