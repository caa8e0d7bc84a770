package org.modelrunner.transport.inprocess;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where a transport's connections keep the first of their requests in flight: one slot each in a
 * few dense arrays, rather than a field of each connection.
 *
 * <p>A request is stored there on every call, and a connection lives long: the garbage collector
 * marks the heap card (512 bytes) of an old object that a new object is stored into, and one of its
 * threads scans the card again later (G1). With a field in each connection, a fan-out marks a card
 * for every few connections it calls; here a card holds the slots of 128 connections, which a
 * fan-out fills one after the other, so it marks one card for about as many calls. A fan-out over
 * ten thousand in-process models spent about a tenth of its processor time on those cards.
 *
 * <p>A slot belongs to one connection from {@link #take} to {@link #give}; the connection reads and
 * writes it under its own lock.
 */
final class InFlightHeads {
  /** Slots per array: 4 KiB with compressed references. */
  static final int CHUNK = 1024;

  private final List<Exchange[]> chunks = new ArrayList<>();
  private int[] free = new int[64];
  private int freeCount;
  private int used; // slots ever handed out, free ones included

  /** A slot: its array and index. */
  record Slot(Exchange[] chunk, int index, int id) {}

  /** Hands out a slot, empty; the one given back last, or a new one. */
  synchronized Slot take() {
    int id;
    if (freeCount > 0) {
      id = free[--freeCount];
    } else {
      id = used++;
      if (id / CHUNK == chunks.size()) {
        chunks.add(new Exchange[CHUNK]);
      }
    }
    return new Slot(chunks.get(id / CHUNK), id % CHUNK, id);
  }

  /** Takes back an empty slot (by its id) that its connection no longer uses. */
  synchronized void give(int id) {
    if (freeCount == free.length) {
      free = Arrays.copyOf(free, free.length * 2);
    }
    free[freeCount++] = id;
  }

  /** Returns the number of slots in use; for tests. */
  synchronized int inUse() {
    return used - freeCount;
  }
}
