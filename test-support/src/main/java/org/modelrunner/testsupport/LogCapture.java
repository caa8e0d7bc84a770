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

  private LogCapture(Logger logger, Level level) {
    this.logger = logger;
    this.level = level;
  }

  /** Starts recording what the logger named {@code loggerName} logs at {@code level} or above. */
  public static LogCapture start(String loggerName, Level level) {
    LogCapture capture = new LogCapture(Logger.getLogger(loggerName), level);
    capture.logger.addHandler(capture);
    return capture;
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

  /** Stops recording. */
  @Override
  public void close() {
    logger.removeHandler(this);
  }
}
