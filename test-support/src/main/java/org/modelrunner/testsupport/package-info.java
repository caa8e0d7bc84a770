/** Helpers shared by the project's tests: {@link org.modelrunner.testsupport.JavaSources} compiles test submissions. */
package org.modelrunner.testsupport;
