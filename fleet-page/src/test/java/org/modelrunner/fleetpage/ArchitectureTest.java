package org.modelrunner.fleetpage;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The module's shape: a small public API over the client's, with no framework. */
class ArchitectureTest {
  /** The module's own classes only (scanning the whole class path for the package is slower). */
  private static final JavaClasses PAGE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPath(classesOf(FleetPage.class));

  private static Path classesOf(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void onlyTheFacadeAndItsBuilderArePublic() {
    classes()
        .that()
        .haveModifier(JavaModifier.PUBLIC)
        .should()
        .haveFullyQualifiedName(FleetPage.class.getName())
        .orShould()
        .haveFullyQualifiedName(FleetPage.Builder.class.getName())
        .check(PAGE);
  }

  @Test
  void itUsesTheJdkServerJacksonsGeneratorAndTheClientsPublicApiOnly() {
    classes()
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            "java..",
            "com.sun.net.httpserver..",
            "com.fasterxml.jackson.core..",
            "org.modelrunner.client",
            "org.modelrunner.spi",
            "org.modelrunner.fleetpage")
        .check(PAGE);
  }
}
