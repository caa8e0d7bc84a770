/**
 * Hosting one submitted model.
 *
 * <p>A {@link org.modelrunner.loader.Submission} is a participant's code (a jar, or a directory of
 * jars and classes) loaded in a class loader of its own: the JDK and this library's API come from
 * the host, the rest from the submission, so that submissions never see each other and can bundle
 * any dependency. A {@link org.modelrunner.loader.HostedModel} finds the implementation of the base
 * class a coordinator names, creates it, and answers setup, call and reset requests with the
 * protocol's exact outcomes. Transports put hosted models behind their endpoints; this package
 * knows nothing of networks.
 */
package org.modelrunner.loader;
