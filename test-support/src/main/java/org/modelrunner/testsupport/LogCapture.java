package org.modelrunner.testsupport;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Records the formatted messages one {@code java.util.logging} logger publishes at or above a
 * level, from {@link #start} until {@link #close}, for tests that check what a class logs.
 */
public final class LogCapture extends Handler implements AutoCloseable {
  private final Logger logger;
  private final Level level;
  private final List<String> messages = new CopyOnWriteArrayList<>();
  private final SimpleFormatter formatter = new SimpleFormatter();
  private final Level loggerLevel;
  private final boolean lowered;

  private LogCapture(Logger logger, Level level) {
    this.logger = logger;
    this.level = level;
    this.loggerLevel = logger.getLevel();
    this.lowered = level.intValue() < effectiveLevel(logger).intValue();
  }

  /**
   * Starts recording what the logger named {@code loggerName} logs at {@code level} or above; if
   * the logger would drop such records (a finer level than it logs), it logs them until {@link
   * #close}.
   */
  public static LogCapture start(String loggerName, Level level) {
    LogCapture capture = new LogCapture(Logger.getLogger(loggerName), level);
    if (capture.lowered) {
      capture.logger.setLevel(level);
    }
    capture.logger.addHandler(capture);
    return capture;
  }

  private static Level effectiveLevel(Logger logger) {
    for (Logger at = logger; at != null; at = at.getParent()) {
      if (at.getLevel() != null) {
        return at.getLevel();
      }
    }
    return Level.INFO;
  }

  /** Returns the messages recorded so far, formatted, oldest first. */
  public List<String> messages() {
    return messages;
  }

  @Override
  public void publish(LogRecord record) {
    if (record.getLevel().intValue() >= level.intValue()) {
      messages.add(formatter.formatMessage(record));
    }
  }

  @Override
  public void flush() {}

  /** Stops recording, and gives the logger back its level. */
  @Override
  public void close() {
    logger.removeHandler(this);
    if (lowered) {
      logger.setLevel(loggerLevel);
    }
  }
}
