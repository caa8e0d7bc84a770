package org.modelrunner.spi;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.dependencies.Slice;
import com.tngtech.archunit.library.dependencies.Slices;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.archfixture.a.CycleA;
import org.modelrunner.spi.codecs.JsonCodec;

/**
 * The SPI stays free of implementation dependencies (DESIGN: "no gRPC, no cache, no queue types").
 */
class SpiArchitectureTest {
  private static final String SPI = "org.modelrunner.spi..";
  private static final String SLICES = "org.modelrunner.(**)";

  private static JavaClasses mainClasses;

  @BeforeAll
  static void importMainClasses() {
    mainClasses =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.modelrunner");
  }

  /** The SPI must not see gRPC, protobuf, Caffeine or JCTools. */
  static final ArchRule NO_IMPLEMENTATION_LIBRARIES =
      noClasses()
          .that()
          .resideInAPackage(SPI)
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "io.grpc..",
              "com.google.protobuf..",
              "com.github.benmanes.caffeine..",
              "org.jctools..")
          .because(
              "the SPI is shared with submitted code and must stay free of implementation libraries");

  /** The SPI is the bottom layer: no other project package (loader, client, transports…). */
  static final ArchRule NO_OTHER_PROJECT_PACKAGES =
      noClasses()
          .that()
          .resideInAPackage(SPI)
          .should()
          .dependOnClassesThat(
              resideInAPackage("org.modelrunner..").and(not(resideInAPackage(SPI))))
          .because("everything depends on spi, and spi on nothing else of ours");

  /** No cycles between packages: {@code spi} and {@code spi.codecs} are separate slices. */
  static final ArchRule NO_PACKAGE_CYCLES = slices().matching(SLICES).should().beFreeOfCycles();

  @Test
  void importsTheMainClassesOnlyAndNoTests() {
    assertThat(mainClasses.contain(ValueConverter.class)).isTrue();
    assertThat(mainClasses.contain(JsonCodec.class)).isTrue();
    assertThat(mainClasses.contain(SpiArchitectureTest.class)).isFalse();
    assertThat(mainClasses.contain(CycleA.class)).isFalse();
    assertThat(
            mainClasses.stream().filter(c -> c.getPackageName().startsWith("org.modelrunner.spi")))
        .hasSizeGreaterThan(15);
  }

  @Test
  void spiDoesNotDependOnImplementationLibraries() {
    NO_IMPLEMENTATION_LIBRARIES.check(mainClasses);
  }

  @Test
  void spiDoesNotDependOnOtherProjectPackages() {
    NO_OTHER_PROJECT_PACKAGES.check(mainClasses);
  }

  @Test
  void packagesAreFreeOfCycles() {
    NO_PACKAGE_CYCLES.check(mainClasses);
  }

  @Test
  void cycleRuleComparesSpiAndCodecsAsSeparateSlices() {
    Slices slicesOfMain = Slices.matching(SLICES).transform(mainClasses);
    List<String> names =
        StreamSupport.stream(slicesOfMain.spliterator(), false).map(s -> s.getNamePart(1)).toList();
    assertThat(names).contains("spi", "spi.codecs");

    // and there is a real dependency between them for the rule to look at (codecs -> spi)
    Slice codecs =
        StreamSupport.stream(slicesOfMain.spliterator(), false)
            .filter(s -> s.getNamePart(1).equals("spi.codecs"))
            .findFirst()
            .orElseThrow();
    assertThat(codecs.getDependenciesFromSelf())
        .anySatisfy(
            d -> assertThat(d.getTargetClass().getPackageName()).isEqualTo("org.modelrunner.spi"));
  }

  @Test
  void cycleRuleDetectsACycle() {
    JavaClasses fixture = new ClassFileImporter().importPackages("org.modelrunner.spi.archfixture");
    assertThat(fixture.contain(CycleA.class)).isTrue();

    EvaluationResult result = NO_PACKAGE_CYCLES.evaluate(fixture);

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString())
        .contains("spi.archfixture.a")
        .contains("spi.archfixture.b");
  }
}
