package org.modelrunner.loader.discovery;

import java.util.ArrayList;
import java.util.List;
import org.modelrunner.spi.DiscoveryResult;
import org.modelrunner.spi.ModelDiscovery;
import org.modelrunner.spi.SubmittedCode;

/**
 * Scans every class of the submission in sorted name order, without running static initialisers,
 * and keeps the public concrete classes that extend or implement the base class, are defined by the
 * submission's own loader, and do not ship in the same jar or folder as the base class (an example
 * or benchmark implementation published with the base class is never picked). A class that cannot
 * be loaded or linked (a missing dependency, say) is skipped and noted. Always decides. Priority 5.
 *
 * <p>Only classes that may extend or implement the base class are loaded: their supertypes are
 * first followed through the class files' headers (read with ASM, without loading anything), so
 * that a submission's large dependencies cost neither the time nor the metaspace of loading them.
 */
public final class ClassScanDiscovery extends ModelDiscovery {
  private static final System.Logger LOG = System.getLogger(ClassScanDiscovery.class.getName());

  /** Creates the provider. */
  public ClassScanDiscovery() {}

  @Override
  public DiscoveryResult discover(SubmittedCode code, Class<?> baseClass) {
    List<Class<?>> found = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    int unloadable = 0;
    ClassHeaders headers = ClassHeaders.read(code.locations());
    for (String name : code.classNames()) {
      if (!headers.mayExtend(name, baseClass.getName())) {
        continue;
      }
      Class<?> type;
      try {
        type = Class.forName(name, false, code.classLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        LOG.log(System.Logger.Level.DEBUG, "Skipping {0}: it cannot be loaded: {1}", name, e);
        notes.add(name + " cannot be loaded: " + e);
        unloadable++;
        continue;
      }
      if (type == baseClass || !baseClass.isAssignableFrom(type)) {
        continue;
      }
      var rejection = Candidates.rejection(code, type, baseClass);
      if (rejection.isPresent()) {
        notes.add(name + " " + rejection.get());
      } else {
        found.add(type);
      }
    }
    if (unloadable > 0) {
      LOG.log(
          System.Logger.Level.INFO,
          "Skipped {0} class(es) of the submission that cannot be loaded while looking for {1}",
          unloadable,
          baseClass.getName());
    }
    return DiscoveryResult.found(found, notes);
  }
}
