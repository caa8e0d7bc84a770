package org.modelrunner.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.codecs.DoubleCodec;
import org.modelrunner.spi.codecs.IntCodec;
import org.modelrunner.spi.codecs.JsonCodec;
import org.modelrunner.spi.codecs.NoneCodec;
import org.modelrunner.spi.codecs.StringCodec;

class ProviderRegistryTest {
  /** A test seam; its providers are listed in src/test/resources/META-INF/services. */
  public abstract static class Widget extends Provider {}

  /** A test seam without any provider on the class path. */
  public abstract static class Gadget extends Provider {}

  public static final class Alpha extends Widget {}

  public static final class Beta extends Widget {}

  public static final class Gamma extends Widget {
    @Override
    public int priority() {
      return 9;
    }
  }

  public static final class Delta extends Widget {
    @Override
    public int priority() {
      return 0;
    }
  }

  /** The same priority as {@link Gamma}, and a later class name. */
  public static final class Zeta extends Widget {
    @Override
    public int priority() {
      return 9;
    }
  }

  public static final class Unavailable extends Widget {
    @Override
    public boolean isAvailable() {
      return false;
    }

    @Override
    public String unavailableReason() {
      return "needs libfoo";
    }

    @Override
    public int priority() {
      return 10;
    }
  }

  public static final class ThrowsOnAvailability extends Widget {
    @Override
    public boolean isAvailable() {
      throw new IllegalStateException("probe exploded");
    }

    @Override
    public int priority() {
      return 10;
    }
  }

  public static final class Loadable extends Widget {}

  /** Listed as a Widget provider, but is not one. */
  public static final class NotAWidget extends Provider {}

  public static final class ThrowingConstructor extends Widget {
    public ThrowingConstructor() {
      throw new IllegalStateException("constructor exploded");
    }
  }

  private static List<Class<?>> classes(List<? extends Provider> providers) {
    return providers.stream().<Class<?>>map(Object::getClass).toList();
  }

  @Test
  void ordersByPriorityDescendingThenClassName() {
    ProviderRegistry<Widget> registry =
        ProviderRegistry.of(
            Widget.class, List.of(new Delta(), new Beta(), new Zeta(), new Alpha(), new Gamma()));

    assertThat(classes(registry.providers()))
        .containsExactly(Gamma.class, Zeta.class, Alpha.class, Beta.class, Delta.class);
    assertThat(registry.describe())
        .startsWith("Widget providers: ")
        .contains(Gamma.class.getName() + " (priority 9)")
        .contains(Delta.class.getName() + " (priority 0)")
        .contains(Alpha.class.getName() + " (priority 5)");
  }

  @Test
  void orderDoesNotDependOnInputOrder() {
    List<Class<?>> forward =
        classes(ProviderRegistry.of(Widget.class, List.of(new Alpha(), new Beta())).providers());
    List<Class<?>> backward =
        classes(ProviderRegistry.of(Widget.class, List.of(new Beta(), new Alpha())).providers());
    assertThat(forward).containsExactly(Alpha.class, Beta.class).isEqualTo(backward);
  }

  @Test
  void unavailableProviderIsExcludedAndDescribedWithItsReason() {
    ProviderRegistry<Widget> registry =
        ProviderRegistry.of(Widget.class, List.of(new Unavailable(), new Alpha()));

    assertThat(classes(registry.providers())).containsExactly(Alpha.class);
    assertThat(registry.describe())
        .contains(Unavailable.class.getName() + " (declined: needs libfoo)")
        .contains(Alpha.class.getName() + " (priority 5)");
  }

  @Test
  void providerWhoseAvailabilityCheckThrowsIsExcludedAndDescribed() {
    ProviderRegistry<Widget> registry =
        ProviderRegistry.of(Widget.class, List.of(new ThrowsOnAvailability(), new Beta()));

    assertThat(classes(registry.providers())).containsExactly(Beta.class);
    assertThat(registry.describe())
        .contains(ThrowsOnAvailability.class.getName() + " (declined: isAvailable() threw")
        .contains("IllegalStateException")
        .contains("probe exploded");
  }

  @Test
  void onlyUnavailableProvidersGiveAnEmptyListButADescription() {
    ProviderRegistry<Widget> registry =
        ProviderRegistry.of(Widget.class, List.of(new Unavailable()));
    assertThat(registry.providers()).isEmpty();
    assertThat(registry.describe())
        .isEqualTo(
            "Widget providers: " + Unavailable.class.getName() + " (declined: needs libfoo)");
  }

  @Test
  void describeWithNoProvidersSaysNoneWasFound() {
    ProviderRegistry<Widget> registry = ProviderRegistry.of(Widget.class, List.of());
    assertThat(registry.providers()).isEmpty();
    assertThat(registry.describe()).isEqualTo("no Widget provider was found on the class path");

    ProviderRegistry<Gadget> loaded = ProviderRegistry.load(Gadget.class);
    assertThat(loaded.providers()).isEmpty();
    assertThat(loaded.describe()).isEqualTo("no Gadget provider was found on the class path");
  }

  @Test
  void providersListIsImmutable() {
    ProviderRegistry<Widget> registry = ProviderRegistry.of(Widget.class, List.of(new Alpha()));
    assertThat(registry.providers()).isUnmodifiable();
  }

  @Test
  void loadFindsExactlyTheBuiltInCodecsInPriorityOrder() {
    ProviderRegistry<ValueCodec> registry = ProviderRegistry.load(ValueCodec.class);

    assertThat(classes(registry.providers()))
        .containsExactly(
            DoubleCodec.class, IntCodec.class, NoneCodec.class, StringCodec.class, JsonCodec.class);
    assertThat(registry.providers())
        .extracting(ValueCodec::type)
        .containsExactly(
            VariantType.DOUBLE,
            VariantType.INT,
            VariantType.NONE,
            VariantType.STRING,
            VariantType.JSON);
    assertThat(registry.describe()).startsWith("ValueCodec providers: ").doesNotContain("declined");
  }

  @Test
  void loadCreatesNewInstancesEachTime() {
    List<ValueCodec> first = ProviderRegistry.load(ValueCodec.class).providers();
    List<ValueCodec> second = ProviderRegistry.load(ValueCodec.class).providers();
    assertThat(first).hasSameSizeAs(second);
    for (int i = 0; i < first.size(); i++) {
      assertThat(first.get(i)).isNotSameAs(second.get(i));
    }
    // Each converter has its own instance of a codec with state (its caches die with it); one of
    // a stateless codec is shared.
    List<ValueCodec> one = ValueConverter.create().codecs();
    List<ValueCodec> other = ValueConverter.create().codecs();
    assertThat(one).hasSameSizeAs(other).anyMatch(codec -> !codec.isStateless());
    for (int i = 0; i < one.size(); i++) {
      if (one.get(i).isStateless()) {
        assertThat(one.get(i)).as("%s", one.get(i)).isSameAs(other.get(i));
      } else {
        assertThat(one.get(i)).as("%s", one.get(i)).isNotSameAs(other.get(i));
      }
    }
  }

  @Test
  void loadSurvivesBrokenServiceEntriesAndDescribesThem() {
    ProviderRegistry<Widget> registry = ProviderRegistry.load(Widget.class);

    assertThat(classes(registry.providers())).containsExactly(Loadable.class);
    String description = registry.describe();
    assertThat(description)
        .contains(Loadable.class.getName() + " (priority 5)")
        .contains("failed to load")
        .contains("DoesNotExist")
        .contains("NotAWidget")
        .contains("ThrowingConstructor");

    // The service files are read once per type; every load still makes new instances and says
    // which entries failed.
    ProviderRegistry<Widget> again = ProviderRegistry.load(Widget.class);
    assertThat(classes(again.providers())).containsExactly(Loadable.class);
    assertThat(again.providers().get(0)).isNotSameAs(registry.providers().get(0));
    assertThat(again.describe()).isEqualTo(description);
  }
}
