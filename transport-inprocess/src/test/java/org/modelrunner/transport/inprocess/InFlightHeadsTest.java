package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InFlightHeadsTest {
  @Test
  void slotsTakenAreDistinctAndFillOneArrayAfterTheOther() {
    InFlightHeads heads = new InFlightHeads();
    List<InFlightHeads.Slot> slots = new ArrayList<>();
    for (int i = 0; i < InFlightHeads.CHUNK + 1; i++) {
      slots.add(heads.take());
    }
    Set<Integer> ids = new HashSet<>();
    slots.forEach(slot -> ids.add(slot.id()));
    assertThat(ids).hasSize(InFlightHeads.CHUNK + 1);
    assertThat(slots.get(InFlightHeads.CHUNK - 1).chunk()).isSameAs(slots.get(0).chunk());
    assertThat(slots.get(InFlightHeads.CHUNK - 1).index()).isEqualTo(InFlightHeads.CHUNK - 1);
    InFlightHeads.Slot last = slots.get(InFlightHeads.CHUNK);
    assertThat(last.chunk()).isNotSameAs(slots.get(0).chunk());
    assertThat(last.index()).isZero();
    assertThat(heads.inUse()).isEqualTo(InFlightHeads.CHUNK + 1);
  }

  @Test
  void aSlotGivenBackIsHandedOutAgainBeforeANewOne() {
    InFlightHeads heads = new InFlightHeads();
    InFlightHeads.Slot first = heads.take();
    InFlightHeads.Slot second = heads.take();
    heads.give(first.id());
    assertThat(heads.inUse()).isOne();
    InFlightHeads.Slot again = heads.take();
    assertThat(again.id()).isEqualTo(first.id());
    assertThat(again.chunk()).isSameAs(first.chunk());
    assertThat(again.index()).isEqualTo(first.index());
    assertThat(heads.take().id()).isNotIn(first.id(), second.id());
  }
}
