package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

/** What the runner keeps of the keyword arguments calls drop: bounded whatever the requests. */
class DroppedKeywordsTest {
  /** A method to drop keywords of. */
  public void target() {}

  @Test
  void remembersAtMostTheLoggedOnesAndNothingOnceTheyAreSpent() throws Exception {
    Method method = DroppedKeywordsTest.class.getMethod("target");
    DroppedKeywords dropped = new DroppedKeywords();
    for (int i = 0; i < DroppedKeywords.MAX_WARNINGS - 1; i++) {
      dropped.dropped(method, "name" + i, "test");
      dropped.dropped(method, "name" + i, "test"); // the same one again: remembered once
    }
    assertThat(dropped.remembered()).isEqualTo(DroppedKeywords.MAX_WARNINGS - 1);
    assertThat(dropped.isSpent()).isFalse();

    dropped.dropped(method, "last", "test");
    assertThat(dropped.isSpent()).isTrue();
    assertThat(dropped.remembered()).isZero();
    for (int i = 0; i < 200_000; i++) {
      dropped.dropped(method, "more" + i, "test");
    }
    assertThat(dropped.remembered()).isZero();
  }

  @Test
  void longNamesAreCutWithTheirLength() {
    assertThat(DroppedKeywords.abbreviate("short")).isEqualTo("short");
    String exact = "x".repeat(DroppedKeywords.MAX_SHOWN_LENGTH);
    assertThat(DroppedKeywords.abbreviate(exact)).isSameAs(exact);
    assertThat(DroppedKeywords.abbreviate(exact + "y"))
        .isEqualTo(exact + "… (" + (DroppedKeywords.MAX_SHOWN_LENGTH + 1) + " characters)");
    // Never half of a surrogate pair.
    String emoji = "x".repeat(DroppedKeywords.MAX_SHOWN_LENGTH - 1) + "\uD83D\uDE80" + "tail";
    assertThat(DroppedKeywords.abbreviate(emoji))
        .startsWith("x".repeat(DroppedKeywords.MAX_SHOWN_LENGTH - 1) + "…");
  }
}
