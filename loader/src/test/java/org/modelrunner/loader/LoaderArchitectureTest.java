package org.modelrunner.loader;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The layering of DESIGN.md, as far as the loader is concerned. */
class LoaderArchitectureTest {
  private static JavaClasses production;

  @BeforeAll
  static void importClasses() {
    production =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.modelrunner");
  }

  @Test
  void theLoaderDependsOnTheSpiOnlyAndOnNoTransportCacheOrQueue() {
    noClasses()
        .that()
        .resideInAPackage("org.modelrunner.loader..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.modelrunner.client..",
            "org.modelrunner.transport..",
            "io.grpc..",
            "com.google.protobuf..",
            "org.jctools..")
        .check(production);
  }

  @Test
  void theSpiDependsOnNothingOfTheLoader() {
    noClasses()
        .that()
        .resideInAPackage("org.modelrunner.spi..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("org.modelrunner.loader..")
        .check(production);
  }

  @Test
  void implementationClassesOfTheLoaderArePackagePrivate() {
    classes()
        .that()
        .resideInAPackage("org.modelrunner.loader")
        .and()
        .haveSimpleNameNotEndingWith("Test")
        .and()
        .doNotHaveSimpleName("HostedModel")
        .and()
        .doNotHaveSimpleName("Submission")
        .and()
        .doNotHaveSimpleName("RunnerCore")
        .and()
        .areTopLevelClasses()
        .should()
        .notBePublic()
        .check(production);
  }

  @Test
  void noPackageCycles() {
    slices().matching("org.modelrunner.(**)").should().beFreeOfCycles().check(production);
  }
}
