package org.modelrunner.fleetpage;

import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.spi.DirectoryStatus;

/** Reads what the page shows (from a fleet, in production) and writes it as the page's document. */
final class FleetReader {
  /**
   * What a document is made of, compared to tell whether anything changed since the last one.
   *
   * @param models every model's status
   * @param directory the directory's link, if it has one
   * @param eventsReceived how many events were received (a new event changes it)
   */
  record State(
      List<ModelStatus> models, Optional<DirectoryStatus> directory, long eventsReceived) {}

  private final Supplier<List<ModelStatus>> models;
  private final Supplier<Optional<DirectoryStatus>> directory;
  private final RecentEvents events;
  private final int eventCapacity;
  private final Clock clock;

  FleetReader(
      Supplier<List<ModelStatus>> models,
      Supplier<Optional<DirectoryStatus>> directory,
      RecentEvents events,
      int eventCapacity,
      Clock clock) {
    this.models = Objects.requireNonNull(models, "models");
    this.directory = Objects.requireNonNull(directory, "directory");
    this.events = Objects.requireNonNull(events, "events");
    this.eventCapacity = eventCapacity;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Reads the statuses now. */
  State read() {
    return new State(models.get(), directory.get(), events.received());
  }

  /** Writes the document of what was read, with the events held now. */
  byte[] document(State state) {
    return FleetDocument.write(
        new FleetDocument.Parts(
            clock.instant(),
            state.models(),
            state.directory(),
            events.view(state.models()),
            eventCapacity));
  }

  /** Reads the statuses and writes the document. */
  byte[] document() {
    return document(read());
  }
}
