package org.modelrunner.loader.discovery;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.modelrunner.spi.DiscoveryResult;
import org.modelrunner.spi.ModelDiscovery;
import org.modelrunner.spi.SubmittedCode;

/**
 * Finds the implementation named in the submission's own {@code META-INF/services/<base class
 * name>} file(s), the way {@link java.util.ServiceLoader} would (one class name a line, {@code #}
 * starts a comment). Applies only when the submission has such a file; then it decides, and the
 * class scan is not run. Priority 10.
 */
public final class ServiceFileDiscovery extends ModelDiscovery {
  /** Creates the provider. */
  public ServiceFileDiscovery() {}

  @Override
  public int priority() {
    return 10;
  }

  @Override
  public DiscoveryResult discover(SubmittedCode code, Class<?> baseClass) {
    List<URL> files = code.resources("META-INF/services/" + baseClass.getName());
    if (files.isEmpty()) {
      return DiscoveryResult.notApplicable();
    }
    Set<String> names = new LinkedHashSet<>();
    List<String> notes = new ArrayList<>();
    for (URL file : files) {
      try (BufferedReader reader =
          new BufferedReader(new InputStreamReader(file.openStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          int comment = line.indexOf('#');
          String name = (comment >= 0 ? line.substring(0, comment) : line).strip();
          if (!name.isEmpty()) {
            names.add(name);
          }
        }
      } catch (IOException e) {
        notes.add("cannot read " + file + ": " + e);
      }
    }
    List<Class<?>> found = new ArrayList<>();
    for (String name : names) {
      Class<?> type;
      try {
        type = Class.forName(name, false, code.classLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        notes.add(name + " (listed in META-INF/services) cannot be loaded: " + e);
        continue;
      }
      var rejection = Candidates.rejection(code, type, baseClass);
      if (rejection.isPresent()) {
        notes.add(name + " (listed in META-INF/services) " + rejection.get());
      } else {
        found.add(type);
      }
    }
    return DiscoveryResult.found(found, notes);
  }
}
