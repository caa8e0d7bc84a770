package org.modelrunner.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArgumentsTest {
  private static final Variant A = Variant.ofString("a");
  private static final Variant B = Variant.ofString("b");
  private static final Variant C = Variant.ofString("c");
  private static final Variant D = Variant.ofString("d");
  private static final Variant E = Variant.ofString("e");

  @Test
  void builderNumbersPositionsFromOne() {
    Arguments arguments = Arguments.builder().add(A).add("k", D).add(B).add(C).add("j", E).build();

    assertThat(arguments.positional())
        .containsExactly(new Argument(1, A), new Argument(2, B), new Argument(3, C));
    assertThat(arguments.keyword())
        .containsExactly(new KeywordArgument("k", D), new KeywordArgument("j", E));
    assertThat(arguments.inCallOrder()).containsExactly(A, B, C);
    assertThat(arguments.isEmpty()).isFalse();
  }

  @Test
  void inCallOrderSortsPositionsAsUnsigned() {
    Arguments arguments =
        Arguments.of(
            List.of(
                new Argument(-1, A), // 0xFFFFFFFF: the largest uint32
                new Argument(Integer.MIN_VALUE, B), // 0x80000000
                new Argument(Integer.MAX_VALUE, C), // 0x7FFFFFFF
                new Argument(2, D),
                new Argument(0, E)),
            List.of());

    assertThat(arguments.inCallOrder()).containsExactly(E, D, C, B, A);
    // positional() keeps the given order
    assertThat(arguments.positional()).extracting(Argument::value).containsExactly(A, B, C, D, E);
  }

  @Test
  void inCallOrderIsStableForTies() {
    List<Argument> positional = new ArrayList<>();
    List<Variant> expected = new ArrayList<>();
    // Many ties, interleaved, so that an unstable sort would be likely to reorder them.
    for (int i = 0; i < 64; i++) {
      positional.add(new Argument(i % 2 == 0 ? 7 : 3, Variant.ofLong(i)));
    }
    for (int i = 1; i < 64; i += 2) {
      expected.add(Variant.ofLong(i));
    }
    for (int i = 0; i < 64; i += 2) {
      expected.add(Variant.ofLong(i));
    }
    assertThat(Arguments.of(positional, List.of()).inCallOrder())
        .containsExactlyElementsOf(expected);

    Arguments ties =
        Arguments.of(
            List.of(
                new Argument(-1, A), new Argument(1, B), new Argument(-1, C), new Argument(1, D)),
            List.of());
    assertThat(ties.inCallOrder()).containsExactly(B, D, A, C);
  }

  @Test
  void noneIsEmpty() {
    Arguments none = Arguments.none();
    assertThat(none.isEmpty()).isTrue();
    assertThat(none.positional()).isEmpty();
    assertThat(none.keyword()).isEmpty();
    assertThat(none.inCallOrder()).isEmpty();
    assertThat(Arguments.builder().build()).isSameAs(none);
    assertThat(Arguments.of(List.of(), List.of())).isSameAs(none);
  }

  @Test
  void keywordOnlyArgumentsAreNotEmpty() {
    Arguments arguments = Arguments.builder().add("k", A).build();
    assertThat(arguments.isEmpty()).isFalse();
    assertThat(arguments.inCallOrder()).isEmpty();
  }

  @Test
  void ofCopiesItsListsAndTheResultIsImmutable() {
    List<Argument> positional = new ArrayList<>(List.of(new Argument(1, A)));
    List<KeywordArgument> keyword = new ArrayList<>(List.of(new KeywordArgument("k", B)));
    Arguments arguments = Arguments.of(positional, keyword);
    positional.add(new Argument(2, C));
    keyword.clear();

    assertThat(arguments.positional()).containsExactly(new Argument(1, A));
    assertThat(arguments.keyword()).containsExactly(new KeywordArgument("k", B));
    assertThat(arguments.positional()).isUnmodifiable();
    assertThat(arguments.keyword()).isUnmodifiable();
  }

  @Test
  void builderKeepsNoLinkToBuiltArguments() {
    Arguments.Builder builder = Arguments.builder().add(A);
    Arguments first = builder.build();
    builder.add(B);
    assertThat(first.inCallOrder()).containsExactly(A);
    assertThat(builder.build().inCallOrder()).containsExactly(A, B);
  }

  @Test
  void nullsAreRejected() {
    assertThatThrownBy(() -> new Argument(1, null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new KeywordArgument(null, A)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new KeywordArgument("k", null))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> Arguments.of(Arrays.asList(new Argument(1, A), null), List.of()))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void equalsByContent() {
    Arguments one = Arguments.builder().add(A).add("k", B).build();
    Arguments two = Arguments.of(List.of(new Argument(1, A)), List.of(new KeywordArgument("k", B)));
    assertThat(one).isEqualTo(two).hasSameHashCodeAs(two);
    assertThat(one).isNotEqualTo(Arguments.builder().add(B).add("k", B).build());
  }
}
