package org.modelrunner.loader;

import java.lang.reflect.Executable;
import java.util.HashSet;
import java.util.Set;

/**
 * The warnings about keyword arguments a call drops (PROTOCOL §1.5: "log once"), bounded whatever
 * the requests send: each distinct keyword of a method is logged once, for the first {@value
 * #MAX_WARNINGS} of them; then one line says that further ones are not logged, and nothing more is
 * remembered. Names longer than {@value #MAX_SHOWN_LENGTH} characters are cut in the log, and only
 * their cut form (with their length and hash) is remembered. So a coordinator (or an attacker) that
 * sends a new keyword name on every call costs at most {@value #MAX_WARNINGS} short lines and as
 * many small entries, never memory or log volume that grows with the calls.
 *
 * <p>Thread-safe.
 */
final class DroppedKeywords {
  /** How many dropped keywords are logged (and remembered) at most. */
  static final int MAX_WARNINGS = 100;

  /** How many characters of a keyword name a log line or a message shows at most. */
  static final int MAX_SHOWN_LENGTH = 100;

  private static final System.Logger LOG = System.getLogger(HostedModel.class.getName());

  /** A dropped keyword as remembered: bounded in size whatever its name. */
  private record Key(Executable executable, String shownName, int length, int hash) {}

  /** The keywords already logged; null once the budget is spent. Guarded by this. */
  private Set<Key> logged = new HashSet<>();

  /**
   * Notes that {@code executable} dropped the keyword {@code name} for {@code reason}: logs it if
   * it is new and the budget is not spent.
   */
  void dropped(Executable executable, String name, String reason) {
    String shown;
    boolean last;
    synchronized (this) {
      if (logged == null) {
        return;
      }
      shown = abbreviate(name);
      if (!logged.add(new Key(executable, shown, name.length(), name.hashCode()))) {
        return;
      }
      last = logged.size() == MAX_WARNINGS;
      if (last) {
        logged = null; // no longer needed: nothing more is logged
      }
    }
    LOG.log(
        System.Logger.Level.WARNING,
        "Dropping keyword argument ''{0}'' of {1}: {2} (logged once)",
        shown,
        ArgumentBinder.signature(executable),
        reason);
    if (last) {
      LOG.log(
          System.Logger.Level.WARNING,
          "{0} distinct dropped keyword arguments have been logged: further ones are not logged",
          MAX_WARNINGS);
    }
  }

  /** Returns whether every warning has been given (and nothing more is remembered). */
  synchronized boolean isSpent() {
    return logged == null;
  }

  /** Returns how many dropped keywords are remembered. */
  synchronized int remembered() {
    return logged == null ? 0 : logged.size();
  }

  /**
   * Returns {@code name}, or its first {@value #MAX_SHOWN_LENGTH} characters and its length when it
   * is longer.
   */
  static String abbreviate(String name) {
    if (name.length() <= MAX_SHOWN_LENGTH) {
      return name;
    }
    int end = MAX_SHOWN_LENGTH;
    if (Character.isHighSurrogate(name.charAt(end - 1))) {
      end--; // never half a character
    }
    return name.substring(0, end) + "… (" + name.length() + " characters)";
  }
}
