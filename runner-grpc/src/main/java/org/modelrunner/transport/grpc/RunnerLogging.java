package org.modelrunner.transport.grpc;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The runner process's logging: {@code java.util.logging} (which also carries gRPC's logs and the
 * loader's {@link System.Logger}) to standard error, one line per record, at the chosen level.
 */
final class RunnerLogging {
  /** Level names accepted by {@code --log-level}: Python's, and java.util.logging's. */
  private static final Map<String, Level> LEVELS =
      Map.ofEntries(
          Map.entry("CRITICAL", Level.SEVERE),
          Map.entry("FATAL", Level.SEVERE),
          Map.entry("ERROR", Level.SEVERE),
          Map.entry("SEVERE", Level.SEVERE),
          Map.entry("WARNING", Level.WARNING),
          Map.entry("WARN", Level.WARNING),
          Map.entry("INFO", Level.INFO),
          Map.entry("CONFIG", Level.CONFIG),
          Map.entry("DEBUG", Level.FINE),
          Map.entry("FINE", Level.FINE),
          Map.entry("FINER", Level.FINER),
          Map.entry("TRACE", Level.FINEST),
          Map.entry("FINEST", Level.FINEST),
          Map.entry("ALL", Level.ALL),
          Map.entry("OFF", Level.OFF));

  /**
   * gRPC's and Netty's (shaded beneath it) own debug logs, HTTP/2 frames included, are kept at INFO
   * at the DEBUG level; TRACE shows them.
   */
  private static final String GRPC = "io.grpc";

  /** Strong references: java.util.logging holds loggers weakly, and would forget their levels. */
  private static Logger root;

  private static Logger grpc;

  private RunnerLogging() {}

  /**
   * Returns the level named {@code name} (case-insensitive): CRITICAL, ERROR, WARNING, INFO, DEBUG,
   * TRACE, or a java.util.logging name (SEVERE, FINE, FINER, FINEST, CONFIG, ALL, OFF).
   *
   * @throws IllegalArgumentException for another name
   */
  static Level level(String name) {
    Level level = LEVELS.get(name.strip().toUpperCase(Locale.ROOT));
    if (level == null) {
      throw new IllegalArgumentException(
          "'"
              + name
              + "' is not a log level (CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, or a"
              + " java.util.logging level)");
    }
    return level;
  }

  /** Sends every log record at {@code level} or above to {@code err}, one line each. */
  static synchronized void configure(Level level, PrintStream err) {
    LogManager manager = LogManager.getLogManager();
    root = manager.getLogger("");
    for (Handler handler : root.getHandlers()) {
      root.removeHandler(handler);
    }
    boolean quietTransport = level.intValue() > Level.FINE.intValue();
    StreamHandler handler =
        quietTransport ? new StreamHandler(err, System::nanoTime) : new StreamHandler(err, null);
    handler.setLevel(Level.ALL);
    handler.setFormatter(new OneLineFormatter(quietTransport));
    root.addHandler(handler);
    root.setLevel(level);
    grpc = Logger.getLogger(GRPC);
    grpc.setLevel(level.intValue() <= Level.FINER.intValue() ? level : max(level, Level.INFO));
  }

  /**
   * Whether a record is one of gRPC's or Netty's below ERROR: what peers cause (connections that do
   * not speak HTTP/2, streams refused or reset, messages over the limit), briefly shown and paced
   * below DEBUG.
   */
  static boolean fromTransport(LogRecord record) {
    String logger = record.getLoggerName();
    return logger != null
        && logger.startsWith(GRPC + ".")
        && record.getLevel().intValue() < Level.SEVERE.intValue();
  }

  private static Level max(Level a, Level b) {
    return a.intValue() >= b.intValue() ? a : b;
  }

  /**
   * Writes and flushes each record; never closes the stream (standard error outlives logging).
   *
   * <p>gRPC's and Netty's records below ERROR, which a peer causes (a stream refused over the limit
   * of calls per connection, a message over the size limit, a client gone before its answer), are
   * written {@value #TRANSPORT_RECORDS_PER_MINUTE} a minute at most, unless the runner logs at
   * DEBUG or TRACE; the next one written after some were left out says how many. One peer that
   * opened 200,000 streams over the limit made a line each: 48 MB of log.
   */
  static final class StreamHandler extends Handler {
    static final int TRANSPORT_RECORDS_PER_MINUTE = 20;

    private static final long MINUTE_NANOS = 60_000_000_000L;

    private final PrintStream out;

    /** The clock that paces transport records, or null to write them all. */
    private final LongSupplier nanoTime;

    // Guarded by this.
    private long windowStart;
    private int inWindow;
    private long leftOut;

    StreamHandler(PrintStream out, LongSupplier nanoTime) {
      this.out = out;
      this.nanoTime = nanoTime;
      this.windowStart = nanoTime == null ? 0 : nanoTime.getAsLong();
    }

    @Override
    public void publish(LogRecord record) {
      if (!isLoggable(record)) {
        return;
      }
      String before = null;
      if (nanoTime != null && fromTransport(record)) {
        synchronized (this) {
          long now = nanoTime.getAsLong();
          if (now - windowStart >= MINUTE_NANOS) {
            windowStart = now;
            inWindow = 0;
          }
          if (inWindow >= TRANSPORT_RECORDS_PER_MINUTE) {
            leftOut++;
            return;
          }
          inWindow++;
          if (leftOut > 0) {
            before =
                leftOut
                    + " more records of gRPC's and Netty's were not logged (at most "
                    + TRANSPORT_RECORDS_PER_MINUTE
                    + " a minute below ERROR; --log-level DEBUG logs them all)";
            leftOut = 0;
          }
        }
      }
      if (before != null) {
        LogRecord summary = new LogRecord(Level.WARNING, before);
        summary.setLoggerName(RunnerLogging.class.getName());
        publishFormatted(summary);
      }
      publishFormatted(record);
    }

    private void publishFormatted(LogRecord record) {
      String line;
      try {
        line = getFormatter().format(record);
      } catch (RuntimeException e) {
        line =
            record.getLevel()
                + " "
                + record.getMessage()
                + " (unformattable: "
                + e
                + ")"
                + System.lineSeparator();
      }
      synchronized (out) {
        out.print(line);
        out.flush();
      }
    }

    @Override
    public void flush() {
      out.flush();
    }

    @Override
    public void close() {
      out.flush();
    }
  }

  /**
   * {@code 2025-09-15 14:30:34.791 INFO GrpcRunner: message}, then the stack trace of a throwable;
   * a throwable of gRPC's and Netty's own records below ERROR stays on the line, briefly, unless
   * the runner logs at DEBUG or TRACE.
   */
  static final class OneLineFormatter extends Formatter {
    private static final DateTimeFormatter TIME =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    /** How much of a throwable a brief record shows. */
    static final int MAX_BRIEF_THROWABLE = 300;

    private final boolean briefTransportTraces;

    /**
     * @param briefTransportTraces whether gRPC's and Netty's records below ERROR show their
     *     throwable on the line instead of its stack trace: a peer that connects without speaking
     *     HTTP/2 (a TLS probe, a port scanner) makes one line, not a stack trace, per connection;
     *     so do the warnings gRPC logs per stream for what a client did (a message over the limit,
     *     a bad {@code grpc-timeout}, a client gone before its answer), of which one client made
     *     tens of megabytes of stack traces
     */
    OneLineFormatter(boolean briefTransportTraces) {
      this.briefTransportTraces = briefTransportTraces;
    }

    @Override
    public String format(LogRecord record) {
      StringBuilder line = new StringBuilder(128);
      line.append(TIME.format(LocalDateTime.ofInstant(record.getInstant(), ZoneId.systemDefault())))
          .append(' ')
          .append(String.format("%-7s", levelName(record.getLevel())))
          .append(' ')
          .append(shortName(record.getLoggerName()))
          .append(": ")
          .append(escaped(formatMessage(record)));
      Throwable thrown = record.getThrown();
      if (thrown != null && brief(record)) {
        String shown = escaped(String.valueOf(thrown));
        return line.append(" (")
            .append(RunnerService.cut(shown, MAX_BRIEF_THROWABLE))
            .append(')')
            .append(System.lineSeparator())
            .toString();
      }
      line.append(System.lineSeparator());
      if (thrown != null) {
        StringWriter trace = new StringWriter();
        thrown.printStackTrace(new PrintWriter(trace));
        line.append(trace);
      }
      return line.toString();
    }

    /**
     * Returns {@code text} with its control characters shown as escapes (a line feed as {@code \n},
     * a carriage return as {@code \r}, the others, and the line and paragraph separators, as a
     * backslash, {@code u} and four hex digits; tabs stay): a message carries names and messages a
     * peer or a model chose, which must not start a line of their own in the log (a forged record)
     * nor reach a terminal as control sequences.
     */
    static String escaped(String text) {
      int first = 0;
      while (first < text.length() && !isControl(text.charAt(first))) {
        first++;
      }
      if (first == text.length()) {
        return text;
      }
      StringBuilder out = new StringBuilder(text.length() + 16).append(text, 0, first);
      for (int i = first; i < text.length(); i++) {
        char c = text.charAt(i);
        if (!isControl(c)) {
          out.append(c);
        } else if (c == '\n') {
          out.append("\\n");
        } else if (c == '\r') {
          out.append("\\r");
        } else {
          out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
        }
      }
      return out.toString();
    }

    private static boolean isControl(char c) {
      return c != '\t' && (Character.isISOControl(c) || c == '\u2028' || c == '\u2029');
    }

    private boolean brief(LogRecord record) {
      return briefTransportTraces && fromTransport(record);
    }

    private static String levelName(Level level) {
      int value = level.intValue();
      if (value >= Level.SEVERE.intValue()) {
        return "ERROR";
      }
      if (value >= Level.WARNING.intValue()) {
        return "WARNING";
      }
      if (value >= Level.INFO.intValue()) {
        return "INFO";
      }
      if (value >= Level.CONFIG.intValue()) {
        return "CONFIG";
      }
      return value >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
    }

    private static String shortName(String name) {
      if (name == null || name.isEmpty()) {
        return "root";
      }
      return name.startsWith("org.modelrunner.") ? name.substring(name.lastIndexOf('.') + 1) : name;
    }
  }
}
